// Package diff renders a remediate.Plan as a unified diff: one anchored
// diff per changed file (the same algorithm gofmt -d uses, from
// github.com/rogpeppe/go-internal/diff) with "--- a/PATH" and "+++ b/PATH"
// headers, PATH being the host path the audit reported. Bytes pass through
// unchanged: CRLF line endings and bytes that are not UTF-8 appear in the
// diff as they are in the file.
package diff

import (
	"bytes"
	"strings"

	"github.com/rogpeppe/go-internal/diff"

	"github.com/tlsfloor/tlsfloor/remediate"
)

// File returns the unified diff of one file, or nil when before and after
// are identical.
func File(path string, before, after []byte) []byte {
	name := strings.TrimPrefix(path, "/")
	d := diff.Diff("a/"+name, before, "b/"+name, after)
	if d == nil {
		return nil
	}
	// go-internal starts with a "diff a/x b/x" line; the --- / +++ headers
	// after it are what patch(1) and reviewers read, so keep only those.
	if i := bytes.IndexByte(d, '\n'); i >= 0 && bytes.HasPrefix(d, []byte("diff ")) {
		d = d[i+1:]
	}
	return d
}

// Plan returns the diff of every file the plan changes, in plan order.
func Plan(p *remediate.Plan) ([]byte, error) {
	var out bytes.Buffer
	for i := range p.Files {
		fc := &p.Files[i]
		if len(fc.Edits) == 0 {
			continue
		}
		after, err := fc.After()
		if err != nil {
			return nil, err
		}
		out.Write(File(fc.Path, fc.Before, after))
	}
	return out.Bytes(), nil
}
