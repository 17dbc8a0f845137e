package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/audit"
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
	evs, _, err := tb.Events(ctx, audit.Filter{TokenID: string(id)})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.Equal(t, audit.EventBootstrap, evs[0].Type)

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

// TestBootstrapReadsTheStackOutputs: with -stack, the table, the key and the token
// prefix come from the stack's outputs (a root token with another prefix than the
// functions' would never authenticate); -prefix given on the command line wins.
func TestBootstrapReadsTheStackOutputs(t *testing.T) {
	outputs := []cftypes.Output{
		{OutputKey: aws.String("TableName"), OutputValue: aws.String("tokengate-TokensTable-1")},
		{OutputKey: aws.String("PepperKeyId"), OutputValue: aws.String("1234abcd")},
		{OutputKey: aws.String("TokenPrefix"), OutputValue: aws.String("acme")},
	}
	o, err := bootstrapFlags([]string{"-stack", "tokengate"})
	require.NoError(t, err)
	require.NoError(t, o.fromOutputs(outputs))
	require.Equal(t, "tokengate-TokensTable-1", o.Table)
	require.Equal(t, "1234abcd", o.Key)
	require.Equal(t, "acme", o.Prefix)

	o, err = bootstrapFlags([]string{"-stack", "tokengate", "-prefix", "tg"})
	require.NoError(t, err)
	require.NoError(t, o.fromOutputs(outputs))
	require.Equal(t, "tg", o.Prefix, "a -prefix given wins")

	o, err = bootstrapFlags([]string{"-stack", "other"})
	require.NoError(t, err)
	var ee *exitError
	require.ErrorAs(t, o.fromOutputs(outputs[2:]), &ee, "not a tokengate stack")
	require.Equal(t, 2, ee.code)
}

// TestDocumentedBootstrapCommands: every bootstrap command README.md and
// docs/local-aws.md show names a target the command honours (make bootstrap STACK=…,
// or -stack, or -table with -key), and none sets variables that bootstrap ignores.
func TestDocumentedBootstrapCommands(t *testing.T) {
	seen := 0
	for _, doc := range []string{"../../README.md", "../../docs/local-aws.md"} {
		b, err := os.ReadFile(doc)
		require.NoError(t, err)
		for _, block := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
			for _, line := range strings.Split(block[1], "\n") {
				line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "# or:"))
				if strings.HasPrefix(line, "#") {
					continue
				}
				switch {
				case strings.HasPrefix(line, "make bootstrap"):
					seen++
					require.Regexp(t, `\bSTACK=\S+`, line, "%s: %s", doc, line)
				case strings.Contains(line, "tglocal bootstrap"):
					seen++
					before, args, _ := strings.Cut(line, "tglocal bootstrap")
					require.NotContains(t, before, "=", "%s: bootstrap reads no variables but AWS's: %s", doc, line)
					o, err := bootstrapFlags(strings.Fields(args))
					require.NoError(t, err, "%s: %s", doc, line)
					require.True(t, o.Stack != "" || (o.Table != "" && o.Key != ""), "%s: %s names no target: it would exit 2 or bootstrap the local stack", doc, line)
				}
			}
		}
	}
	require.GreaterOrEqual(t, seen, 4, "the documented bootstrap commands were found")
}
