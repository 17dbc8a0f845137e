// Package localstack runs the local stand-ins for the AWS services tokengate uses, and
// the local gateway, as supervised background processes: DynamoDB Local, the SES
// emulator (aws-ses-v2-local), local-kms, and `tglocal serve`. Each runs in its own
// process group with a pidfile and a log under the state folder, is probed until it
// answers, and binds 127.0.0.1 only. The ports and their environment variables are
// defined here, once. infra/install.sh installs the tools it runs into .local/tools.
package localstack

import (
	"fmt"
	"strconv"
)

// Mode is run (`make run`: state in .local, data kept on disk) or test (`make test`:
// state in .local/test, data thrown away).
type Mode string

// The two modes.
const (
	Run  Mode = "run"
	Test Mode = "test"
)

// ParseMode reads a mode's name; empty is Run.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "", Run:
		return Run, nil
	case Test:
		return Test, nil
	}
	return "", fmt.Errorf("mode must be %q or %q, not %q", Run, Test, s)
}

// Port is one port setting: its environment variable and its default per mode (0: a
// default computed from another port, or free ports).
type Port struct {
	Env       string
	Run, Test int
	What      string
}

// The port settings. API and AWS router ports serve `make run` only; the Lambda
// emulators only `make run LAMBDA=1`.
var (
	DynamoDBPort = Port{"TG_DYNAMODB_PORT", 8000, 18000, "DynamoDB Local"}
	SESPort      = Port{"TG_SES_PORT", 8005, 18005, "SES emulator (mail view at /, JSON at /store)"}
	KMSPort      = Port{"TG_KMS_PORT", 8006, 18006, "KMS emulator (local-kms)"}
	APIPort      = Port{"TG_API_PORT", 3000, 13000, "API gateway and console"}
	AWSPort      = Port{"TG_AWS_PORT", 0, 0, "AWS router for sam local (default: API port + 10)"}
	LambdaPort   = Port{"TG_LAMBDA_PORT", 0, 0, "first Lambda emulator port, two per function (default: free ports)"}
)

// Ports lists every port setting, in the order help and status show them.
var Ports = []Port{DynamoDBPort, SESPort, KMSPort, APIPort, AWSPort, LambdaPort}

// In returns the port in mode m: the environment's value, else the mode's default.
func (p Port) In(m Mode, getenv func(string) string) (int, error) {
	if v := getenv(p.Env); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			return 0, fmt.Errorf("%s=%q is not a port number", p.Env, v)
		}
		return n, nil
	}
	if m == Test {
		return p.Test, nil
	}
	return p.Run, nil
}
