package pepper_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/pepper"
	"tokengate/shared/token"
)

func TestLoad(t *testing.T) {
	tb := localtest.Table(t)
	c := localtest.Clients(t)
	key := localtest.KMSKey(t)
	ctx := context.Background()

	_, err := pepper.Load(ctx, c.KMS, key, tb)
	require.ErrorIs(t, err, token.ErrNotBootstrapped, "a function never creates the pepper")
	sealed, err := tb.SealedPeppers(ctx)
	require.NoError(t, err)
	require.Empty(t, sealed, "loading wrote nothing")

	created, err := pepper.Ensure(ctx, c.KMS, key, tb)
	require.NoError(t, err)
	require.True(t, created, "bootstrap creates version 1")
	created, err = pepper.Ensure(ctx, c.KMS, key, tb)
	require.NoError(t, err)
	require.False(t, created, "and only once")

	first, err := pepper.Load(ctx, c.KMS, key, tb)
	require.NoError(t, err)
	require.Equal(t, 1, first.Current().Version)

	sealed, err = tb.SealedPeppers(ctx)
	require.NoError(t, err)
	require.Len(t, sealed, 1, "one version created by bootstrap")

	// A second cold start decrypts the same pepper: hashes made by the first verify.
	second, err := pepper.Load(ctx, c.KMS, key, tb)
	require.NoError(t, err)
	g, err := token.Generate("tg", "", first, nil)
	require.NoError(t, err)
	require.True(t, second.Verify(g.Secret, 1, first.Current().Hash(g.Secret)))

	t.Run("the ciphertext is bound to its encryption context", func(t *testing.T) {
		_, err := c.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: sealed[0].Ciphertext, KeyId: aws.String(key),
			EncryptionContext: map[string]string{"app": "tokengate", "purpose": "something-else", "version": "1"}})
		require.Error(t, err)
	})
	t.Run("rotation adds a version and keeps the old one verifying", func(t *testing.T) {
		v, err := pepper.Rotate(ctx, c.KMS, key, tb)
		require.NoError(t, err)
		require.Equal(t, 2, v)
		k, err := pepper.Load(ctx, c.KMS, key, tb)
		require.NoError(t, err)
		require.Equal(t, 2, k.Current().Version)
		require.True(t, k.Verify(g.Secret, 1, first.Current().Hash(g.Secret)))
	})
	t.Run("a wrong key fails the start", func(t *testing.T) {
		other, err := c.KMS.CreateKey(ctx, &kms.CreateKeyInput{})
		require.NoError(t, err)
		_, err = pepper.Load(ctx, c.KMS, *other.KeyMetadata.KeyId, tb)
		require.Error(t, err)
	})
}

func TestLoadFailsClosedWithoutKMS(t *testing.T) {
	tb := localtest.Table(t)
	cfg := localtest.Clients(t).AWS.Copy()
	closed := kms.NewFromConfig(cfg, func(o *kms.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:1") // nothing listens there
		o.RetryMaxAttempts = 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := pepper.Ensure(ctx, closed, "any", tb)
	require.Error(t, err)
	sealed, err := tb.SealedPeppers(ctx)
	require.NoError(t, err)
	require.Empty(t, sealed, "nothing stored when KMS cannot answer")
}
