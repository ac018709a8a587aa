module regprog

go 1.21
