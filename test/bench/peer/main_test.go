package main

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	for _, tc := range []struct {
		name string
		stat string
		want time.Duration
		bad  bool
	}{
		{
			name: "plain",
			stat: "1234 (telegraf) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 12 0 100 0",
			want: 3250 * time.Millisecond,
		},
		{
			name: "name with spaces and parentheses",
			stat: "42 (a (b) c) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 0",
			want: 100 * time.Millisecond,
		},
		{name: "no name", stat: "42 R 1", bad: true},
		{name: "short", stat: "42 (x) R 1 2 3", bad: true},
		{name: "not a number", stat: "1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 3 0", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU(tc.stat)
			if tc.bad {
				if err == nil {
					t.Fatalf("parseStatCPU = %v, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseStatCPU = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	ok := []string{"--nats-url", "nats://127.0.0.1:1", "--clickhouse", "127.0.0.1:2", "--telegraf", "t", "--aggregate", "a"}
	if _, err := parseFlags(ok); err != nil {
		t.Fatalf("parseFlags(%q): %v", ok, err)
	}
	for _, args := range [][]string{
		{},
		append([]string{"--events", "0"}, ok...),
		append([]string{"--max-ack-pending", "0"}, ok...),
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q) succeeded, want an error", args)
		}
	}
}

func TestPeakRSS(t *testing.T) {
	rss, err := peakRSS(os.Getpid())
	if err != nil || rss == 0 {
		t.Fatalf("peakRSS(self) = %d, %v; want a positive size", rss, err)
	}
}
