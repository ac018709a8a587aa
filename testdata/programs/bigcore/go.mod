module gocore.test/bigcore

go 1.21
