// Command authorizer is the tokengate Lambda authorizer for API Gateway.
package main

import "tokengate/shared/boot"

func main() { boot.ServeAuthorizer() }
