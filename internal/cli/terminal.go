package cli

import "os"

// IsTerminal reports whether f is a character device, such as a
// terminal, rather than a file or a pipe. NOTE: /dev/null is a character
// device too, so progress still goes to standard error then.
func IsTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
