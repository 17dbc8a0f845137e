// Package pepper loads the keyring that token hashes are keyed with. A pepper exists in
// plaintext only in memory, after one KMS Decrypt per version per cold start; the table
// holds only its KMS ciphertext, bound to an encryption context so the ciphertext cannot
// be decrypted for any other purpose. Functions only load peppers; the operator creates
// them (Ensure, Rotate).
package pepper

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"tokengate/shared/fault"
	"tokengate/shared/token"
)

// Keeper stores sealed peppers (shared/store implements it on the table).
type Keeper interface {
	SealedPeppers(ctx context.Context) ([]token.SealedPepper, error)
	AddSealedPepper(ctx context.Context, p token.SealedPepper, now time.Time) error
}

// Size of a pepper in bytes.
const Size = 32

// Context is the KMS encryption context of pepper version v.
func Context(v int) map[string]string {
	return map[string]string{"app": "tokengate", "purpose": "token-pepper", "version": strconv.Itoa(v)}
}

// Load decrypts every stored pepper version. It never creates one: without any it
// returns token.ErrNotBootstrapped. Any KMS failure is returned: without the pepper nothing can
// be verified, so the caller must not serve.
func Load(ctx context.Context, client *kms.Client, keyID string, k Keeper) (*token.Keyring, error) {
	sealed, err := k.SealedPeppers(ctx)
	if err != nil {
		return nil, fmt.Errorf("load pepper: %w", err)
	}
	if len(sealed) == 0 {
		return nil, token.ErrNotBootstrapped
	}
	ps := make([]token.Pepper, 0, len(sealed))
	for _, s := range sealed {
		out, err := client.Decrypt(ctx, &kms.DecryptInput{
			CiphertextBlob: s.Ciphertext, KeyId: aws.String(keyID), EncryptionContext: Context(s.Version),
		})
		if err != nil {
			return nil, fmt.Errorf("load pepper v%d: kms decrypt: %w", s.Version, err)
		}
		p, err := token.NewPepper(s.Version, out.Plaintext)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return token.NewKeyring(ps...)
}

// Ensure creates pepper version 1 unless a version exists, and reports whether it
// created it. It is the operator's step (bootstrap): it needs kms:GenerateDataKey and a
// write of the pepper item, which no function role has. Two bootstraps racing store one
// pepper: the loser's conditional write fails and it reports false.
func Ensure(ctx context.Context, client *kms.Client, keyID string, k Keeper) (bool, error) {
	sealed, err := k.SealedPeppers(ctx)
	if err != nil {
		return false, fmt.Errorf("ensure pepper: %w", err)
	}
	if len(sealed) > 0 {
		return false, nil
	}
	_, err = create(ctx, client, keyID, k, 1)
	if errors.Is(err, fault.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// Rotate adds a new pepper version, one above the highest stored. New hashes use it;
// hashes under older versions keep verifying, since every version stays in the table.
func Rotate(ctx context.Context, client *kms.Client, keyID string, k Keeper) (int, error) {
	sealed, err := k.SealedPeppers(ctx)
	if err != nil {
		return 0, fmt.Errorf("rotate pepper: %w", err)
	}
	v := 1
	for _, s := range sealed {
		if s.Version >= v {
			v = s.Version + 1
		}
	}
	if _, err := create(ctx, client, keyID, k, v); err != nil {
		return 0, err
	}
	return v, nil
}

func create(ctx context.Context, client *kms.Client, keyID string, k Keeper, v int) (token.Pepper, error) {
	out, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId: aws.String(keyID), NumberOfBytes: aws.Int32(Size), EncryptionContext: Context(v),
	})
	if err != nil {
		return token.Pepper{}, fmt.Errorf("create pepper v%d: kms generate data key: %w", v, err)
	}
	if err := k.AddSealedPepper(ctx, token.SealedPepper{Version: v, Ciphertext: out.CiphertextBlob}, time.Now()); err != nil {
		return token.Pepper{}, fmt.Errorf("create pepper v%d: %w", v, err)
	}
	return token.NewPepper(v, out.Plaintext)
}
