module gocore.invalid/layouts-ref

go 1.21
