package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podling/podling/internal/bench"
)

func paramsFrom(t *testing.T, args ...string) (bench.Params, error) {
	t.Helper()
	o, err := parseFlags(args)
	if err != nil {
		return bench.Params{}, err
	}
	return o.params()
}

func TestParams_OverridesReplacePresetValues(t *testing.T) {
	p, err := paramsFrom(t, "-smoke", "-kills", "3", "-write-window", "2s", "-clients", "1,8")
	if err != nil {
		t.Fatalf("params: expected no error, got %v", err)
	}
	if p.Kills != 3 {
		t.Errorf("kills: expected 3, got %d", p.Kills)
	}
	if p.WriteWindow != 2*time.Second {
		t.Errorf("write window: expected 2s, got %s", p.WriteWindow)
	}
	if len(p.Concurrency) != 2 || p.Concurrency[0] != 1 || p.Concurrency[1] != 8 {
		t.Errorf("clients: expected [1 8], got %v", p.Concurrency)
	}
	if p.ScaleTasks != bench.Smoke().ScaleTasks {
		t.Errorf("tasks: expected the smoke preset's %d, got %d", bench.Smoke().ScaleTasks, p.ScaleTasks)
	}
}

func TestParams_NonPositiveValuesRejected(t *testing.T) {
	cases := map[string][]string{
		"zero kills":          {"-kills", "0"},
		"negative tasks":      {"-tasks", "-5"},
		"negative window":     {"-write-window", "-1s"},
		"zero window":         {"-read-window", "0s"},
		"zero client count":   {"-clients", "0"},
		"empty client count":  {"-clients", "1,,2"},
		"missing -out folder": {"-smoke", "-out", filepath.Join(t.TempDir(), "missing", "x.md")},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := paramsFrom(t, args...)
			if err == nil {
				t.Fatalf("params %q: expected an error, got none", args)
			}
			flagName := strings.TrimPrefix(args[len(args)-2], "-")
			if !strings.Contains(err.Error(), flagName) {
				t.Errorf("error %q: expected it to name -%s", err, flagName)
			}
		})
	}
}

func TestParseFlags_UnknownFlagIsReportedOnce(t *testing.T) {
	_, err := parseFlags([]string{"-bogus"})

	if !errors.Is(err, errReported) {
		t.Errorf("unknown flag: expected an error marked as already reported, got %v", err)
	}
}
