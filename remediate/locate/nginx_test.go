package locate

import (
	"errors"
	"testing"
)

func TestNginxLocate(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		line     int
		dir      string
		k        int
		args     []string
		wantArgs string // src[ArgsSpan]
		wantDir  string // src[Name.Start:Term.End]
	}{
		{
			name: "plain", src: "http {\n    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;\n}\n",
			line: 2, dir: "ssl_protocols", args: []string{"TLSv1", "TLSv1.1", "TLSv1.2"},
			wantArgs: "TLSv1 TLSv1.1 TLSv1.2", wantDir: "ssl_protocols TLSv1 TLSv1.1 TLSv1.2;",
		},
		{
			name: "trailing comment", src: "ssl_protocols TLSv1 TLSv1.2; # POODLE\n",
			line: 1, dir: "ssl_protocols", args: []string{"TLSv1", "TLSv1.2"},
			wantArgs: "TLSv1 TLSv1.2", wantDir: "ssl_protocols TLSv1 TLSv1.2;",
		},
		{
			name: "quoted", src: "ssl_protocols \"TLSv1\" 'TLSv1.2';\n",
			line: 1, dir: "ssl_protocols", args: []string{"TLSv1", "TLSv1.2"},
			wantArgs: "\"TLSv1\" 'TLSv1.2'", wantDir: "ssl_protocols \"TLSv1\" 'TLSv1.2';",
		},
		{
			name: "second on the line", src: "ssl_protocols TLSv1; ssl_protocols TLSv1.1;\n",
			line: 1, dir: "ssl_protocols", k: 1, args: []string{"TLSv1.1"},
			wantArgs: "TLSv1.1", wantDir: "ssl_protocols TLSv1.1;",
		},
		{
			name: "multi-line with CRLF", src: "server {\r\n\tssl_protocols\r\n\t\tTLSv1\r\n\t\tTLSv1.2;\r\n}\r\n",
			line: 2, dir: "ssl_protocols", args: []string{"TLSv1", "TLSv1.2"},
			wantArgs: "TLSv1\r\n\t\tTLSv1.2", wantDir: "ssl_protocols\r\n\t\tTLSv1\r\n\t\tTLSv1.2;",
		},
		{
			name: "BOM is part of the first token", src: "\uFEFFssl_protocols TLSv1;\nssl_protocols TLSv1.1;\n",
			line: 2, dir: "ssl_protocols", args: []string{"TLSv1.1"},
			wantArgs: "TLSv1.1", wantDir: "ssl_protocols TLSv1.1;",
		},
		{
			name: "latin-1 before", src: "server_name \"caf\xe9\";\nssl_protocols TLSv1;\n",
			line: 2, dir: "ssl_protocols", args: []string{"TLSv1"},
			wantArgs: "TLSv1", wantDir: "ssl_protocols TLSv1;",
		},
		{
			name: "quoted semicolon and brace before", src: "return 200 \"a;b{c}\"; ssl_protocols TLSv1;\n",
			line: 1, dir: "ssl_protocols", args: []string{"TLSv1"},
			wantArgs: "TLSv1", wantDir: "ssl_protocols TLSv1;",
		},
		{
			name: "escaped hash is an argument", src: "add_header X a\\#b; ssl_protocols TLSv1;\n",
			line: 1, dir: "add_header", args: []string{"X", "a\\#b"},
			wantArgs: "X a\\#b", wantDir: "add_header X a\\#b;",
		},
		{
			name: "comment between arguments", src: "ssl_protocols TLSv1 # old\n  TLSv1.2;\n",
			line: 1, dir: "ssl_protocols", args: []string{"TLSv1", "TLSv1.2"},
			wantArgs: "TLSv1 # old\n  TLSv1.2", wantDir: "ssl_protocols TLSv1 # old\n  TLSv1.2;",
		},
		{
			name: "variable with braces", src: "set $x ${host}abc; ssl_protocols TLSv1;\n",
			line: 1, dir: "set", args: []string{"$x", "${host}abc"},
			wantArgs: "$x ${host}abc", wantDir: "set $x ${host}abc;",
		},
		{
			name: "multi-line quoted string before", src: "log_format x 'a\nb;\nc';\nssl_protocols TLSv1;\n",
			line: 4, dir: "ssl_protocols", args: []string{"TLSv1"},
			wantArgs: "TLSv1", wantDir: "ssl_protocols TLSv1;",
		},
		{
			name: "escaped quote inside quotes", src: "return 200 \"a\\\"b\";\n",
			line: 1, dir: "return", args: []string{"200", "a\"b"},
			wantArgs: "200 \"a\\\"b\"", wantDir: "return 200 \"a\\\"b\";",
		},
		{
			name: "block directive", src: "http {\n}\n",
			line: 1, dir: "http", args: nil, wantArgs: "", wantDir: "http {",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := LexNginx([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			args := tt.args
			if args == nil {
				args = []string{}
			}
			d, err := f.Locate(tt.line, tt.dir, tt.k, args)
			if err != nil {
				t.Fatal(err)
			}
			s, e := d.ArgsSpan()
			if got := tt.src[s:e]; got != tt.wantArgs {
				t.Errorf("args span = %q, want %q", got, tt.wantArgs)
			}
			if got := tt.src[d.Name.Start:d.Term.End]; got != tt.wantDir {
				t.Errorf("directive = %q, want %q", got, tt.wantDir)
			}
		})
	}
}

func TestNginxLocateRefuses(t *testing.T) {
	src := []byte("ssl_protocols TLSv1 TLSv1.1;\n")
	f, err := LexNginx(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		line int
		k    int
		args []string
	}{
		{1, 0, []string{"TLSv1"}},            // parser saw other arguments
		{2, 0, []string{"TLSv1", "TLSv1.1"}}, // wrong line
		{1, 1, []string{"TLSv1", "TLSv1.1"}}, // no second directive
	} {
		if _, err := f.Locate(tc.line, "ssl_protocols", tc.k, tc.args); !errors.Is(err, ErrUncertain) {
			t.Errorf("Locate(%d, k=%d, %q) = %v, want ErrUncertain", tc.line, tc.k, tc.args, err)
		}
	}
}

func TestLexNginxErrors(t *testing.T) {
	for _, src := range []string{
		"http {\n",                  // unclosed block
		"}\n",                       // unexpected close
		"ssl_protocols TLSv1\n",     // no terminator
		"return 200 \"abc;\n",       // unterminated quote
		"ssl_protocols TLSv1;;\n",   // crossplane rejects a repeated ";"
		"events {\n} ssl_protocols", // premature end
	} {
		if _, err := LexNginx([]byte(src)); err == nil {
			t.Errorf("LexNginx(%q) succeeded, want an error", src)
		}
	}
}
