package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"tokengate/shared/access"
	"tokengate/shared/authorizer"
	"tokengate/shared/boot"
	"tokengate/shared/fault"
	"tokengate/shared/pepper"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// exitError ends tglocal with a given exit code and message.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// bootstrapOptions are the flags of `tglocal bootstrap`.
type bootstrapOptions struct {
	State     string // the local stack's state folder, used when no target is given
	Stack     string // a CloudFormation stack whose outputs name table and key
	Table     string
	Key       string
	Region    string
	Catalog   string
	Prefix    string
	ID        string // the superuser's principal id
	Name      string
	Email     string
	Add       bool   // add a superuser although one exists
	TokenFile string // local: keep the root token here (0600), and reuse a working one
	// Renew: when the token in TokenFile does not authenticate (rotated, revoked,
	// expired, missing), mint a new root token for the superuser ID. Set for the local
	// stack only (make run), never by a flag.
	Renew bool
	// PrefixGiven: -prefix was on the command line, so a stack's TokenPrefix output does
	// not replace it.
	PrefixGiven bool
}

func bootstrapFlags(args []string) (bootstrapOptions, error) {
	var o bootstrapOptions
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	fs.StringVar(&o.State, "state", ".local", "the local stack's state folder (used when neither -stack nor -table is given)")
	fs.StringVar(&o.Stack, "stack", "", "CloudFormation stack name: read TableName and PepperKeyId from its outputs")
	fs.StringVar(&o.Table, "table", "", "DynamoDB table name (with -key)")
	fs.StringVar(&o.Key, "key", "", "KMS key id or ARN of the pepper (with -table)")
	fs.StringVar(&o.Region, "region", "", "AWS region (default: AWS_REGION or your profile's)")
	fs.StringVar(&o.Catalog, "catalog", envOr("CATALOG_FILE", "infra/catalog.json"), "the scope catalog the functions are deployed with")
	fs.StringVar(&o.Prefix, "prefix", envOr("TOKEN_PREFIX", token.DefaultPrefix), "the stack's TokenPrefix")
	fs.StringVar(&o.ID, "id", "admin", "id of the superuser principal to create")
	fs.StringVar(&o.Name, "name", "First admin", "its name")
	fs.StringVar(&o.Email, "email", "", "its email address, where expiry and leak notices go")
	fs.BoolVar(&o.Add, "add", false, "create another superuser although one exists")
	fs.StringVar(&o.TokenFile, "token-file", "", "write the root token to this file (mode 0600) instead of only printing it; a working token there means nothing to do")
	if err := fs.Parse(args); err != nil {
		return o, &exitError{2, err.Error()}
	}
	fs.Visit(func(f *flag.Flag) { o.PrefixGiven = o.PrefixGiven || f.Name == "prefix" })
	if (o.Table == "") != (o.Key == "") {
		return o, &exitError{2, "give -table and -key together (or -stack)"}
	}
	if !token.ValidOwnerID(o.ID) {
		return o, &exitError{2, fmt.Sprintf("-id %q is not a principal id", o.ID)}
	}
	return o, nil
}

// bootstrap is `tglocal bootstrap`: the operator's one step that makes a new deployment
// usable, locally or on AWS. With the operator's credentials it creates pepper v1 when
// there is none (KMS GenerateDataKey: no function role may), the first superuser holding
// every scope of the catalog, and a root token holding every scope, printed once and
// audited as "bootstrap". It never creates a key and never creates or deletes a table:
// the table and key must exist (make run, or sam deploy). When a superuser exists it
// refuses (exit 2) unless -add.
func bootstrap(ctx context.Context, args []string) error {
	o, err := bootstrapFlags(args)
	if err != nil {
		return err
	}
	t, err := bootstrapTarget(ctx, &o)
	if err != nil {
		return err
	}
	return runBootstrap(ctx, t, o)
}

// target is where bootstrap works: clients, table and key.
type target struct {
	DynamoDB *dynamodb.Client
	KMS      *kms.Client
	Table    string
	Key      string
}

// bootstrapTarget resolves the table and key: a stack's outputs, the flags, or the local
// stack's env file; and the operator's credentials (environment, profile or SSO).
func bootstrapTarget(ctx context.Context, o *bootstrapOptions) (target, error) {
	if o.Stack == "" && o.Table == "" {
		env, err := readLocalEnv(o.State, nil)
		if err != nil {
			return target{}, &exitError{2, "no target: give -stack, or -table and -key, or run `make run` for the local stack (" + err.Error() + ")"}
		}
		o.Table, o.Key = env.Getenv("TABLE_NAME"), env.Getenv("KMS_KEY_ID")
		if v := env.Getenv("CATALOG_FILE"); v != "" {
			o.Catalog = v
		}
		if v := env.Getenv("TOKEN_PREFIX"); v != "" {
			o.Prefix = v
		}
		if o.TokenFile == "" {
			o.TokenFile = filepath.Join(o.State, "admin-token")
		}
		o.Renew = true
		// The local stack: the clients the functions make, on the env file's endpoints.
		c, err := boot.NewClients(boot.Settings{AWS: boot.LoadAWSSettings(env.Getenv)})
		if err != nil {
			return target{}, err
		}
		return target{DynamoDB: c.DynamoDB, KMS: c.KMS, Table: o.Table, Key: o.Key}, nil
	}
	var opts []func(*config.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return target{}, fmt.Errorf("aws credentials: %w", err)
	}
	if cfg.Region == "" {
		return target{}, &exitError{2, "no region: give -region or set AWS_REGION"}
	}
	if o.Stack != "" {
		cf := cloudformation.NewFromConfig(cfg, func(co *cloudformation.Options) { co.BaseEndpoint = boot.Endpoint("CloudFormation") })
		out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(o.Stack)})
		if err != nil {
			return target{}, fmt.Errorf("describe stack %s: %w", o.Stack, err)
		}
		if len(out.Stacks) == 0 {
			return target{}, &exitError{2, "no stack " + o.Stack}
		}
		if err := o.fromOutputs(out.Stacks[0].Outputs); err != nil {
			return target{}, err
		}
	}
	ddb := dynamodb.NewFromConfig(cfg, func(do *dynamodb.Options) {
		do.BaseEndpoint = boot.Endpoint("DynamoDB")
		if do.BaseEndpoint != nil {
			do.DisableValidateResponseChecksum = true
		}
	})
	k := kms.NewFromConfig(cfg, func(ko *kms.Options) { ko.BaseEndpoint = boot.Endpoint("KMS") })
	return target{DynamoDB: ddb, KMS: k, Table: o.Table, Key: o.Key}, nil
}

// fromOutputs takes the table, the key and the token prefix from a tokengate stack's
// outputs (TableName, PepperKeyId, TokenPrefix): the root token must carry the prefix the
// functions were deployed with, or their authorizer refuses it.
func (o *bootstrapOptions) fromOutputs(outputs []cftypes.Output) error {
	for _, op := range outputs {
		switch aws.ToString(op.OutputKey) {
		case "TableName":
			o.Table = aws.ToString(op.OutputValue)
		case "PepperKeyId":
			o.Key = aws.ToString(op.OutputValue)
		case "TokenPrefix":
			if !o.PrefixGiven {
				o.Prefix = aws.ToString(op.OutputValue)
			}
		}
	}
	if o.Table == "" || o.Key == "" {
		return &exitError{2, "stack " + o.Stack + " has no TableName and PepperKeyId outputs: is it a tokengate stack?"}
	}
	return nil
}

// runBootstrap does the work on a resolved target.
func runBootstrap(ctx context.Context, t target, o bootstrapOptions) error {
	if _, err := t.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Table)}); err != nil {
		return &exitError{2, fmt.Sprintf("table %s cannot be read (%v): bootstrap never creates a table; deploy the stack (or `make run`) first", t.Table, err)}
	}
	tb := &store.Table{Client: t.DynamoDB, Name: t.Table, Retention: token.DefaultPolicy().Retention}
	created, err := pepper.Ensure(ctx, t.KMS, t.Key, tb)
	if err != nil {
		return err
	}
	if created {
		fmt.Printf("✓ pepper v1 created in %s (KMS GenerateDataKey; only its ciphertext is stored)\n", t.Table)
	}
	keys, err := pepper.Load(ctx, t.KMS, t.Key, tb)
	if err != nil {
		return err
	}
	cat, err := access.CatalogAt(o.Catalog)
	if err != nil {
		return err
	}
	svc := &token.Service{Store: tb, Principals: tb, Keys: keys, Catalog: cat, Policy: token.DefaultPolicy(), Prefix: o.Prefix, Now: time.Now}

	if o.TokenFile != "" {
		// Authenticate with it, as the authorizer does every request: secret, status,
		// expiry and owner.
		d := authorizer.New(authorizer.Config{Tokens: tb, Keys: keys, Catalog: cat, Prefix: o.Prefix, Log: io.Discard}).
			Check(ctx, authorizer.Request{Token: readFile(o.TokenFile), Route: "GET /tokens/self"})
		switch {
		case d.Allow:
			fmt.Printf("✓ bootstrapped already: the admin token in %s authenticates (token %s)\n", o.TokenFile, d.TokenID)
			return nil
		case d.Reason == authorizer.ReasonStoreFailed:
			return fmt.Errorf("check the admin token in %s: the table or KMS failed", o.TokenFile)
		}
		if o.Renew {
			if p, err := tb.GetPrincipal(ctx, o.ID); err == nil && p.Superuser {
				fmt.Printf("! the admin token in %s does not authenticate any more (%s): minting a new one for superuser %s\n", o.TokenFile, d.Reason, o.ID)
				return mintRoot(ctx, svc, o)
			} else if err != nil && !errors.Is(err, fault.ErrNotFound) {
				return err
			}
		}
	}
	supers, err := superusers(ctx, tb)
	if err != nil {
		return err
	}
	if len(supers) > 0 && !o.Add {
		return &exitError{2, fmt.Sprintf("a superuser exists already (%v): bootstrap made the first admin before. "+
			"Use a token of that admin, or run `tglocal bootstrap -add -id <new id>` to add another superuser", supers)}
	}
	now := time.Now().UTC().Truncate(time.Second)
	var scopes []string
	for _, s := range cat.Scopes() {
		scopes = append(scopes, s.Name)
	}
	p := &access.Principal{ID: o.ID, Name: o.Name, Email: o.Email, Kind: "user", Scopes: scopes, Superuser: true,
		CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := tb.PutPrincipal(ctx, p, 0); err != nil {
		if errors.Is(err, fault.ErrConflict) {
			return &exitError{2, fmt.Sprintf("a principal %q exists already (or one with the same owner reference): choose another -id", o.ID)}
		}
		return fmt.Errorf("create principal %s: %w", o.ID, err)
	}
	fmt.Printf("✓ superuser %s created, holding every scope of the catalog (%d)\n", o.ID, len(scopes))
	return mintRoot(ctx, svc, o)
}

// mintRoot mints a root token for superuser o.ID, written to o.TokenFile (0600) when
// set, and prints it once.
func mintRoot(ctx context.Context, svc *token.Service, o bootstrapOptions) error {
	c, err := svc.Bootstrap(ctx, o.ID, "tglocal bootstrap")
	if err != nil {
		return fmt.Errorf("mint root token: %w", err)
	}
	secret := c.Plaintext.Reveal()
	if o.TokenFile != "" {
		// Removed first: WriteFile keeps the mode of a file that exists.
		if err := removeMissing(o.TokenFile); err != nil {
			return err
		}
		if err := os.WriteFile(o.TokenFile, []byte(secret+"\n"), 0o600); err != nil {
			return err
		}
		fmt.Printf("✓ root token written to %s (mode 0600)\n", o.TokenFile)
	}
	fmt.Printf("✓ root token of %s, holding every scope (audited as \"bootstrap\"); it is shown only this once:\n\n    %s\n\n"+
		"  Next: create a second admin and enroll it (README, \"A second admin\"), then revoke this token.\n", o.ID, secret)
	return nil
}

func removeMissing(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// superusers lists the ids of the superuser principals.
func superusers(ctx context.Context, tb *store.Table) ([]string, error) {
	var out []string
	cursor := ""
	for {
		page, next, err := tb.ListPrincipals(ctx, 100, cursor)
		if err != nil {
			return nil, err
		}
		for _, p := range page {
			if p.Superuser {
				out = append(out, p.ID)
			}
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}
