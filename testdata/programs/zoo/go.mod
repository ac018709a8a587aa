module gocore.test/zoo

go 1.21
