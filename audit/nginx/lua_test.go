package nginx

import (
	"bytes"
	"strings"
	"testing"
)

func TestBlankLuaComments(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no lua", "http { # -- x {\n}\n", "http { # -- x {\n}\n"},
		{"line comment with brace and apostrophe",
			"content_by_lua_block {\n  -- that'll {\n  x = 1 -- }\n}\nx;",
			"content_by_lua_block {\n              \n  x = 1     \n}\nx;"},
		{"strings keep their dashes",
			"access_by_lua_block { s = \"--{\" .. '--}' }",
			"access_by_lua_block { s = \"--{\" .. '--}' }"},
		{"long comment and long string",
			"log_by_lua_block { --[[ a\n} ]] s = [==[ -- } ]==] }",
			"log_by_lua_block {       \n     s = [==[ -- } ]==] }"},
		{"set_by_lua_block with an argument, quoted name",
			"set_by_lua_block $r { return 1 -- {\n}\n\"rewrite_by_lua_block\" { -- {\n}",
			"set_by_lua_block $r { return 1     \n}\n\"rewrite_by_lua_block\" {     \n}"},
		{"only at a directive name",
			"server_name content_by_lua_block; upstream content_by_lua_block { # -- {\n}",
			"server_name content_by_lua_block; upstream content_by_lua_block { # -- {\n}"},
		{"unbalanced: left to crossplane", "content_by_lua_block { -- x\n", "content_by_lua_block { -- x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(blankLuaComments([]byte(tt.in)))
			if got != tt.want {
				t.Errorf("\n got %q\nwant %q", got, tt.want)
			}
			if strings.Count(got, "\n") != strings.Count(tt.in, "\n") || len(got) != len(tt.in) {
				t.Errorf("line count or length changed")
			}
		})
	}
	// The input is never modified in place.
	in := []byte("content_by_lua_block { -- c\n}")
	orig := append([]byte(nil), in...)
	blankLuaComments(in)
	if !bytes.Equal(in, orig) {
		t.Errorf("input modified")
	}
}
