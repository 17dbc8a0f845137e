package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"tokengate/infra/samtemplate"
)

// localEnv is the environment a local command runs the functions' code with, without
// writing to the process environment: the process's own variables first, then
// <state>/env (what setup wrote), then the local defaults of the notifier's settings.
type localEnv []map[string]string

// Getenv is os.Getenv over the layers: boot.LoadSettings(e.Getenv).
func (e localEnv) Getenv(k string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	for _, m := range e {
		if v := m[k]; v != "" {
			return v
		}
	}
	return ""
}

// readLocalEnv reads <state>/env and adds the template's defaults; the file must exist
// (`make run` or tglocal setup writes it).
func readLocalEnv(state string, tmpl *samtemplate.Template) (localEnv, error) {
	path := filepath.Join(state, "env")
	file, err := readEnv(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s is missing: run `make run` (or tglocal setup) first", path)
	}
	if err != nil {
		return nil, err
	}
	e := localEnv{file}
	if tmpl != nil {
		e = append(e, notifierDefaults(tmpl, e.Getenv))
	}
	return e, nil
}

// readEnv reads the KEY=VALUE lines of an env file written by writeEnv.
func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			out[k] = shellUnquote(v)
		}
	}
	return out, sc.Err()
}
