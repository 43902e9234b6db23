// Package cliflag holds the flag handling that allcnn and allcnn-train
// share: which flags were given, what an -arch value names, and the old
// spelling -model NAME.
package cliflag

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// Given is the set of flags given on the command line (not their
// defaults); call it before a recipe sets others.
func Given(fs *flag.FlagSet) map[string]bool {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return given
}

// IsArchFile reports whether an -arch value names a JSON architecture file
// rather than a model of 'allcnn models': it ends in .json or names an
// existing file (not a folder).
func IsArchFile(arch string) bool {
	if strings.HasSuffix(arch, ".json") {
		return true
	}
	fi, err := os.Stat(arch)
	return err == nil && !fi.IsDir()
}

// OldModel moves -model NAME, given on the command line of a command that
// takes an architecture, to -arch NAME, its new spelling, with a warning
// on the flags' output (stderr) that starts with prog. The old spelling
// goes in the next release; with -arch as well it is an error (the caller
// makes it a usage error).
func OldModel(fs *flag.FlagSet, prog string) error {
	if !Given(fs)["model"] {
		return nil
	}
	name := fs.Lookup("model").Value.String()
	if Given(fs)["arch"] {
		return fmt.Errorf("-model %s is the old spelling of -arch; give -arch alone", name)
	}
	fmt.Fprintf(fs.Output(), "%s: warning: -model %s is now -arch %s (the old spelling goes in the next release)\n", prog, name, name)
	return fs.Set("arch", name)
}
