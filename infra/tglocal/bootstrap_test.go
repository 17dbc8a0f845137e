package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/token"
)

func TestBootstrap(t *testing.T) {
	tb := localtest.Table(t)
	c := localtest.Clients(t)
	ctx := context.Background()
	tg := target{DynamoDB: c.DynamoDB, KMS: c.KMS, Table: tb.Name, Key: localtest.KMSKey(t)}
	tokenFile := filepath.Join(t.TempDir(), "admin-token")
	o := bootstrapOptions{ID: "first", Name: "First admin", Email: "first@example.com", Prefix: token.DefaultPrefix,
		Catalog: "../catalog.json", TokenFile: tokenFile}

	require.NoError(t, runBootstrap(ctx, tg, o))
	sealed, err := tb.SealedPeppers(ctx)
	require.NoError(t, err)
	require.Len(t, sealed, 1, "pepper v1 created")
	p, err := tb.GetPrincipal(ctx, "first")
	require.NoError(t, err)
	require.True(t, p.Superuser)
	cat, err := access.LoadCatalog("../catalog.json")
	require.NoError(t, err)
	require.Len(t, cat.Holds(p), len(cat.Scopes()), "the first superuser holds every scope of the catalog")

	id, _, err := token.Parse(token.DefaultPrefix, readFile(tokenFile))
	require.NoError(t, err)
	root, err := tb.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, token.StatusActive, root.Status, "the root token works at once: nobody could approve it yet")
	require.Len(t, root.Scopes, len(cat.Scopes()), "every scope, high-risk ones included")
	require.Equal(t, "first", root.Minter())
	require.False(t, root.Delegated())
	evs, _, err := tb.Events(ctx, token.AuditFilter{TokenID: id})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.Equal(t, token.EventBootstrap, evs[0].Type)

	t.Run("a working root token on file: nothing to do", func(t *testing.T) {
		require.NoError(t, runBootstrap(ctx, tg, o))
	})
	t.Run("a superuser exists: exit 2 unless -add", func(t *testing.T) {
		o := o
		o.TokenFile, o.ID = "", "second"
		err := runBootstrap(ctx, tg, o)
		var ee *exitError
		require.True(t, errors.As(err, &ee), "%v", err)
		require.Equal(t, 2, ee.code)
		require.Contains(t, ee.msg, "superuser exists already")
		_, err = tb.GetPrincipal(ctx, "second")
		require.ErrorIs(t, err, fault.ErrNotFound, "nothing created")

		o.Add = true
		require.NoError(t, runBootstrap(ctx, tg, o))
		second, err := tb.GetPrincipal(ctx, "second")
		require.NoError(t, err)
		require.True(t, second.Superuser)
		sealed, err := tb.SealedPeppers(ctx)
		require.NoError(t, err)
		require.Len(t, sealed, 1, "the pepper is created once")
	})
	t.Run("local: an admin token that does not authenticate is replaced", func(t *testing.T) {
		o := o
		o.Renew = true
		for name, content := range map[string]string{"missing": "", "garbage": "not a token", "a wrong secret": readFile(tokenFile)[:len(readFile(tokenFile))-4] + "AAAA"} {
			t.Run(name, func(t *testing.T) {
				require.NoError(t, os.Remove(tokenFile))
				if content != "" {
					require.NoError(t, os.WriteFile(tokenFile, []byte(content), 0o644))
				}
				require.NoError(t, runBootstrap(ctx, tg, o))
				fi, err := os.Stat(tokenFile)
				require.NoError(t, err)
				require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
				id, _, err := token.Parse(token.DefaultPrefix, readFile(tokenFile))
				require.NoError(t, err)
				renewed, err := tb.Get(ctx, id)
				require.NoError(t, err)
				require.Equal(t, "first", renewed.OwnerID)
				require.Equal(t, token.StatusActive, renewed.Status)
			})
		}
		o.Renew = false
		require.NoError(t, os.WriteFile(tokenFile, []byte("not a token"), 0o600))
		var ee *exitError
		require.True(t, errors.As(runBootstrap(ctx, tg, o), &ee), "without Renew (not the local stack) nothing is minted")
	})
	t.Run("never creates a table", func(t *testing.T) {
		missing := localtest.Name("missing")
		err := runBootstrap(ctx, target{DynamoDB: c.DynamoDB, KMS: c.KMS, Table: missing, Key: tg.Key}, o)
		var ee *exitError
		require.True(t, errors.As(err, &ee), "%v", err)
		require.Equal(t, 2, ee.code)
		_, err = c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(missing)})
		require.Error(t, err, "the table was not created")
	})
	t.Run("flags", func(t *testing.T) {
		_, err := bootstrapFlags([]string{"-table", "t"})
		var ee *exitError
		require.True(t, errors.As(err, &ee))
		require.Equal(t, 2, ee.code)
		_, err = bootstrapFlags([]string{"-id", "no spaces allowed"})
		require.True(t, errors.As(err, &ee))
	})
}
