module github.com/daprshop/daprshop/tools/stripelocal

go 1.26

require (
	github.com/stretchr/testify v1.7.0
	github.com/stripe/stripe-go/v76 v76.25.0
)

require (
	github.com/davecgh/go-spew v1.1.0 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	gopkg.in/yaml.v3 v3.0.0-20200313102051-9f266ea9e77c // indirect
)
