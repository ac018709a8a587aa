module example.com/gobinarytest

go 1.19

require example.com/dep v0.0.0

replace example.com/dep => ./dep
