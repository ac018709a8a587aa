module gocore.test/leak

go 1.21
