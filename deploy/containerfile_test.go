package deploy_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// instruction is one Containerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case
	args string
}

func parseContainerfile(t *testing.T, b []byte) []instruction {
	t.Helper()
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if next, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(next + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
		cur.Reset()
	}
	require.Zero(t, cur.Len(), "dangling continuation line")
	return out
}

var goDirectiveRE = regexp.MustCompile(`(?m)^go (\d+\.\d+)`)

func TestContainerfile(t *testing.T) {
	t.Parallel()
	s := loadSource(t)
	ins := parseContainerfile(t, readFile(t, "deploy/Containerfile"))
	args := map[string]string{}
	var froms []string
	var final []instruction // instructions of the last stage
	var build strings.Builder
	for _, in := range ins {
		switch in.cmd {
		case "ARG":
			k, v, _ := strings.Cut(in.args, "=")
			args[k] = v
		case "FROM":
			froms = append(froms, in.args)
			final = nil
			continue
		case "RUN":
			if strings.Contains(in.args, "go build") {
				build.WriteString(in.args)
			}
		}
		final = append(final, in)
	}

	require.Len(t, froms, 2, "a builder stage and a runtime stage")
	require.True(t, strings.HasPrefix(froms[0], "docker.io/library/golang:${GO_VERSION} "), "builder: %s", froms[0])
	goMod := goDirectiveRE.FindStringSubmatch(string(readFile(t, "go.mod")))
	require.NotNil(t, goMod)
	require.Equal(t, goMod[1], args["GO_VERSION"], "the builder's Go is go.mod's")
	require.Regexp(t, `^(gcr\.io/distroless/static[-a-z0-9]*:nonroot|scratch)$`, froms[1], "runtime base")

	cmdline := build.String()
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w`, "-X main.buildVersion=", "./cmd/spotifyhist", "-o /out/spotifyhist"} {
		require.Contains(t, cmdline, want, "go build")
	}

	var user, entrypoint, cmd, expose string
	env := map[string]string{}
	for _, in := range final {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "CMD":
			cmd = in.args
		case "EXPOSE":
			expose = in.args
		case "ENV":
			for _, kv := range strings.Fields(in.args) {
				k, v, ok := strings.Cut(kv, "=")
				require.True(t, ok, "ENV %s: use KEY=VALUE", in.args)
				env[k] = v
			}
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	require.NotContains(t, []string{"", "0", "root"}, uid, "USER must not be root")
	var ep, cm []string
	require.NoError(t, json.Unmarshal([]byte(entrypoint), &ep), "ENTRYPOINT in exec form")
	require.Equal(t, []string{"/spotifyhist"}, ep)
	require.NoError(t, json.Unmarshal([]byte(cmd), &cm), "CMD in exec form")
	require.Equal(t, []string{"serve"}, cm)
	require.True(t, s.commands[cm[0]])
	require.Equal(t, "8080", expose)
	require.Equal(t, "/data", env["SPOTIFYHIST_DATA_DIR"])
	for k, v := range env {
		require.True(t, s.envVars[k], "ENV %s is not a variable of cmd/spotifyhist/config.go", k)
		if k == "SPOTIFYHIST_LISTEN" {
			require.Equal(t, expose, v[strings.LastIndex(v, ":")+1:], "EXPOSE and SPOTIFYHIST_LISTEN")
		}
	}
}
