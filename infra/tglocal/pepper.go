package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"tokengate/shared/boot"
	"tokengate/shared/pepper"
	"tokengate/shared/store"
)

// rotatePepper is `tglocal rotate-pepper`: KMS generates a new pepper version and the
// table keeps its ciphertext beside the old ones. Functions pick it up at their next cold
// start; tokens hashed under older versions keep verifying. With <state>/env present it
// works on the local stack; without it, on whatever the environment points at
// (TABLE_NAME, KMS_KEY_ID, AWS credentials), e.g. a deployed stack.
func rotatePepper(ctx context.Context, state string) error {
	var env localEnv
	if _, err := os.Stat(filepath.Join(state, "env")); err == nil {
		if env, err = readLocalEnv(state, nil); err != nil {
			return err
		}
	}
	s, err := boot.LoadSettings(env.Getenv)
	if err != nil {
		return err
	}
	c, err := boot.NewClients(s)
	if err != nil {
		return err
	}
	tb := &store.Table{Client: c.DynamoDB, Name: s.TableName, Retention: s.Policy.Retention}
	v, err := pepper.Rotate(ctx, c.KMS, s.KMSKeyID, tb)
	if err != nil {
		return err
	}
	fmt.Printf("✓ pepper version %d added to %s; functions use it from their next cold start (older versions keep verifying)\n", v, s.TableName)
	return nil
}
