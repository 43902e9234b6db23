package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchPeerORT: -peer-ort runs the script with node beside the
// node_modules given, on the net exported to ONNX, and prints its figures
// (each round's on stderr) and the ratios. The script here is a stand-in that checks its arguments
// and the model file and prints fixed figures; -ort-modules without
// onnxruntime-node, and a net that is not 3×32×32, are clear errors.
func TestBenchPeerORT(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is missing")
	}
	dir := t.TempDir()
	mods := filepath.Join(dir, "node_modules")
	if err := os.MkdirAll(filepath.Join(mods, "onnxruntime-node"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "peer.mjs")
	src := `import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
const [model, threads] = process.argv.slice(2);
const b = readFileSync(model);
if (b.length < 1000 || threads !== '1') { console.error('bad arguments'); process.exit(3); }
if (!existsSync(join(dirname(process.argv[1]), 'node_modules', 'onnxruntime-node'))) { console.error('no modules'); process.exit(4); }
console.log('warming up');
console.log(JSON.stringify({ peer: 'stand-in', threads: 1, infer_ms_b1: 2, infer_img_s_b8: 100 }));
`
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	o, e, code := runCmd(t, "bench", "-width", "0.125", "-batch", "8", "-runs", "1", "-rounds", "2", "-threads", "1", "-peer-ort", script, "-ort-modules", mods)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	// Each round's figures, the peer's beside ours.
	if n := strings.Count(e, "bench: onnxruntime: inference 100.0 img/s, batch 1 2.00 ms\n"); n != 2 {
		t.Errorf("%d progress lines with the peer's figures, want 2:\n%s", n, e)
	}
	var b1, b8 []string
	for _, line := range strings.Split(o, "\n") {
		switch {
		case strings.HasPrefix(line, "inference ms (batch 1)"):
			b1 = strings.Fields(line)
		case strings.HasPrefix(line, "inference img/s (batch 8)"):
			b8 = strings.Fields(line)
		}
	}
	if len(b1) != 7 || b1[5] != "2.00" || !strings.HasSuffix(b1[6], "×") || len(b8) != 7 || b8[5] != "100.00" {
		t.Errorf("rows %q and %q, want the peer's 2.00 ms and 100.00 img/s with ratios\n%s", b1, b8, o)
	}
	if !strings.Contains(o, "onnxruntime") {
		t.Errorf("no onnxruntime column:\n%s", o)
	}

	empty := t.TempDir()
	if _, e, code := runCmd(t, "bench", "-width", "0.125", "-runs", "1", "-peer-ort", script, "-ort-modules", empty); code == 0 || !strings.Contains(e, "make ort") {
		t.Errorf("modules without onnxruntime-node: exit %d, %q", code, e)
	}
	if _, e, code := runCmd(t, "bench", "-arch", "large-all-cnn", "-runs", "1", "-peer-ort", script, "-ort-modules", mods); code != 2 || !strings.Contains(e, "3×32×32") {
		t.Errorf("a 126×126 net: exit %d, %q", code, e)
	}
}
