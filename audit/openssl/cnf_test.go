package openssl

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

func parseConfText(t *testing.T, files map[string]string) (*Conf, error) {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		writeFile(t, filepath.Join(root, name), content)
	}
	return ParseConf(platform.NewOSFS(root), "/etc/ssl/openssl.cnf")
}

func TestParseConfSyntax(t *testing.T) {
	conf, err := parseConfText(t, map[string]string{"etc/ssl/openssl.cnf": strings.Join([]string{
		`HOME = .`,
		`dir = /top`,
		`[ sect ]`,
		`dir = ./demoCA      # trailing comment`,
		`certs = $dir/certs`,
		`top = $default::dir/x`,
		`braced = ${dir}/y and $(dir)/z`,
		`quoted = "a # not a comment" 'b'`,
		`escaped = a\#b`,
		`home = $ENV::HOME/.rnd`,
		`long = one \`,
		`  two`,
		`dup = first`,
		`other = x`,
		`dup = second`,
		`cnf::remote = set from elsewhere`,
		"crlf = yes\r",
		`[cnf]`,
	}, "\n")})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var keys []string
	es, _ := conf.Section("sect")
	for _, e := range es {
		got[e.Key] = e.Value
		keys = append(keys, e.Key)
	}
	want := map[string]string{
		"dir": "./demoCA", "certs": "./demoCA/certs", "top": "/top/x", "braced": "./demoCA/y and ./demoCA/z",
		"quoted": "a # not a comment b", "escaped": "a#b", "home": "$ENV::HOME/.rnd", "long": "one   two",
		"dup": "second", "other": "x", "crlf": "yes",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("values (-want +got):\n%s", d)
	}
	// A repeated key moves to the end, as NCONF keeps it.
	if keys[len(keys)-2] != "dup" {
		t.Errorf("order %v: the repeated key should come after 'other'", keys)
	}
	if e, ok := conf.Get("cnf", "remote"); !ok || e.Value != "set from elsewhere" || e.Line != 16 {
		t.Errorf("section::name assignment = %+v, %v", e, ok)
	}
	if e, ok := conf.Get("sect", "HOME"); !ok || e.Section != DefaultSection {
		t.Errorf("Get falls back to the default section: %+v, %v", e, ok)
	}
}

func TestParseConfErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"[ sect\nx = 1\n", "/etc/ssl/openssl.cnf:1: missing close square bracket"},
		{"[sect]\n\nMinProtocol TLSv1.2\n", "/etc/ssl/openssl.cnf:3: missing equal sign"},
		{"a = 1\nb = $nope\n", "/etc/ssl/openssl.cnf:2: b: variable has no value: $nope"},
		{"a = ${x\n", "/etc/ssl/openssl.cnf:1: a: no close brace"},
		{".include\n", "/etc/ssl/openssl.cnf:1: .include without a path"},
		{".include /etc/ssl/openssl.cnf\n", "/etc/ssl/openssl.cnf:1: .include nested more than 10 deep (include loop?)"},
		{".pragma abspath:true\n.include rel.cnf\n", "/etc/ssl/openssl.cnf:2: relative path \"rel.cnf\" with .pragma abspath"},
	}
	for _, tt := range tests {
		_, err := parseConfText(t, map[string]string{"etc/ssl/openssl.cnf": tt.text})
		if err == nil || err.Error() != tt.want || !audit.IsConfigError(err) {
			t.Errorf("ParseConf(%q) error = %v, want ConfigError %q", tt.text, err, tt.want)
		}
	}
}

func TestParseConfIncludes(t *testing.T) {
	conf, err := parseConfText(t, map[string]string{
		"etc/ssl/openssl.cnf":      "[s]\n.pragma includedir:/etc/ssl\n.include conf.d\n.include = /etc/ssl/extra.cnf\n.include /nowhere.cnf\nlast = main\n",
		"etc/ssl/conf.d/b.cnf":     "b = 2\n",
		"etc/ssl/conf.d/a.conf":    "a = 1\n[t]\n",
		"etc/ssl/conf.d/skip.txt":  "skip = 1\n",
		"etc/ssl/extra.cnf":        "extra = 3\n",
		"etc/ssl/conf.d/sub/c.cnf": "c = 4\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := conf.Section("s")
	tt, _ := conf.Section("t")
	var gs, gt []string
	for _, e := range s {
		gs = append(gs, e.Key+"@"+e.File)
	}
	for _, e := range tt {
		gt = append(gt, e.Key+"@"+e.File)
	}
	// An included file continues the current section and may switch it:
	// after a.conf's [t], everything lands in [t], as in OpenSSL.
	if d := cmp.Diff([]string{"a@/etc/ssl/conf.d/a.conf"}, gs); d != "" {
		t.Errorf("[s] (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"b@/etc/ssl/conf.d/b.cnf", "extra@/etc/ssl/extra.cnf", "last@/etc/ssl/openssl.cnf"}, gt); d != "" {
		t.Errorf("[t] (-want +got):\n%s", d)
	}
	if len(conf.Missing) != 1 || conf.Missing[0].Value != "/nowhere.cnf" || conf.Missing[0].Line != 5 {
		t.Errorf("missing includes = %+v", conf.Missing)
	}
}

// TestParseConfAgainstOpenSSL uses the real openssl as the oracle for
// syntax: `openssl asn1parse -genconf FILE` loads FILE with NCONF and says
// "Error on line N" when OpenSSL rejects it. ParseConf must reject exactly
// the same files, at the same line.
func TestParseConfAgainstOpenSSL(t *testing.T) {
	bin := platformtest.RequireTool(t, "openssl")
	texts := []string{
		"[ sect\nx = 1\n", "[sect]\n\nMinProtocol TLSv1.2\n", "a = 1\nb = $nope\n", "a = ${x\n",
		"a = 1\n[s]\nb = $a\n", "x = \"quoted # hash\"\n", "a = 1 \\\n  continued\n", "[ s ]\n  k=v  # c\n",
		"a = $ENV::HOME\n", "s::k = v\n[s]\nx = $s::k\n", "a = $(b\n", "weird key = v\n", "\n# only a comment\n",
		"[s]\nMinProtocol = TLSv1\nCipherString = DEFAULT:@SECLEVEL=0\n", "a=b\nc=$a$a\n", "[]\n", "[ a b ]\n", "[a]junk\nx=1\n", "[a.b-c]\n", "[ x ]]\n", "k = v\\\n",
		".pragma dollarid:on\na = $b\n", "a = b\\#c\n", ".pragma abspath:true\n.include rel.cnf\n", ".pragma = abspath:on\nx=1\n", "= v\n", "a = \"unterminated\n", "[s]\n.include\n",
	}
	for _, p := range []string{"/etc/ssl/openssl.cnf"} {
		if data, err := os.ReadFile(p); err == nil {
			texts = append(texts, string(data))
		}
	}
	files, _ := filepath.Glob("testdata/policy/*.txtar")
	for _, f := range files {
		ar, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, af := range ar.Files {
			if strings.HasSuffix(af.Name, "openssl.cnf") && !strings.Contains(string(af.Data), ".include") {
				texts = append(texts, string(af.Data))
			}
		}
	}
	reLine := regexp.MustCompile(`Error on line (\d+) of config file`)
	for i, text := range texts {
		root := t.TempDir()
		writeFile(t, filepath.Join(root, "etc/ssl/openssl.cnf"), text)
		_, err := ParseConf(platform.NewOSFS(root), "/etc/ssl/openssl.cnf")
		out, _ := exec.Command(bin, "asn1parse", "-genconf", filepath.Join(root, "etc/ssl/openssl.cnf")).CombinedOutput()
		m := reLine.FindSubmatch(out)
		switch {
		case m == nil && err != nil:
			t.Errorf("case %d %q: OpenSSL accepts it, ParseConf says %v", i, truncate(text, 80), err)
		case m != nil && err == nil:
			t.Errorf("case %d %q: OpenSSL rejects line %s, ParseConf accepts it", i, truncate(text, 80), m[1])
		case m != nil:
			var ce *audit.ConfigError
			if !errors.As(err, &ce) || strconv.Itoa(ce.Line) != string(m[1]) {
				t.Errorf("case %d %q: OpenSSL rejects line %s, ParseConf says %v", i, truncate(text, 80), m[1], err)
			}
		}
	}
}

func FuzzParseConf(f *testing.F) {
	for _, s := range []string{
		"openssl_conf = a\n[a]\nssl_conf = b\n[b]\nsystem_default = c\n[c]\nMinProtocol = TLSv1\nCipherString = DEFAULT:@SECLEVEL=0\n",
		"x = ${y}\n", "[ a \n", "a = \"b\\\n", ".include = x\n", ".pragma dollarid:on\na = $b\n", "a::b = $a::b\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		root := t.TempDir()
		if err := os.MkdirAll(filepath.Join(root, "etc/ssl"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "etc/ssl/openssl.cnf"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		sp, err := ReadSystemPolicy(platform.NewOSFS(root), "")
		if err != nil {
			if !audit.IsConfigError(err) {
				t.Fatalf("error %v is not a ConfigError", err)
			}
			return
		}
		sp.Evaluate(Host{Lib: Version{Flavor: FlavorOpenSSL, Major: 3}}, audit.TLS12)
	})
}
