module github.com/orrery-go/orrery

go 1.26.0

require (
	github.com/mlange-42/arche v0.15.3
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
	golang.org/x/sys v0.49.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
