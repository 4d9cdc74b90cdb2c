package diff

import (
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/remediate"
)

func TestFile(t *testing.T) {
	tests := []struct {
		name          string
		before, after string
		want          string
	}{
		{"identical", "a\n", "a\n", ""},
		{
			"CRLF kept", "x\r\nssl_protocols TLSv1;\r\ny\r\n", "x\r\nssl_protocols TLSv1.2;\r\ny\r\n",
			"--- a/etc/nginx/nginx.conf\n+++ b/etc/nginx/nginx.conf\n@@ -1,3 +1,3 @@\n x\r\n-ssl_protocols TLSv1;\r\n+ssl_protocols TLSv1.2;\r\n y\r\n",
		},
		{
			"no newline at end", "SSLProtocol all", "SSLProtocol -all +TLSv1.2",
			"--- a/etc/nginx/nginx.conf\n+++ b/etc/nginx/nginx.conf\n@@ -1,1 +1,1 @@\n-SSLProtocol all\n\\ No newline at end of file\n+SSLProtocol -all +TLSv1.2\n\\ No newline at end of file\n",
		},
		{
			"latin-1 passes through", "# caf\xe9\nssl_protocols TLSv1;\n", "# caf\xe9\nssl_protocols TLSv1.2;\n",
			"--- a/etc/nginx/nginx.conf\n+++ b/etc/nginx/nginx.conf\n@@ -1,2 +1,2 @@\n # caf\xe9\n-ssl_protocols TLSv1;\n+ssl_protocols TLSv1.2;\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(File("/etc/nginx/nginx.conf", []byte(tt.before), []byte(tt.after)))
			if got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestPlanSkipsUnchangedAndRejectsBadEdits(t *testing.T) {
	a := remediate.NewFileChange("/a.conf", "/a.conf", []byte("ssl_protocols TLSv1;\n"), 0o644)
	a.Edits = []remediate.Edit{{Start: 14, End: 19, New: "TLSv1.2"}}
	b := remediate.NewFileChange("/b.conf", "/b.conf", []byte("unchanged\n"), 0o644)
	out, err := Plan(&remediate.Plan{Files: []remediate.FileChange{b, a}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "b.conf") || !strings.Contains(string(out), "+ssl_protocols TLSv1.2;") {
		t.Errorf("diff:\n%s", out)
	}
	a.Edits = append(a.Edits, remediate.Edit{Start: 15, End: 16, New: "x"})
	if _, err := Plan(&remediate.Plan{Files: []remediate.FileChange{a}}); err == nil {
		t.Error("overlapping edits rendered without error")
	}
}
