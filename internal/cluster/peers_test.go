package cluster

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePeers(t *testing.T) {
	tests := []struct {
		name    string
		list    string
		want    []Peer
		wantErr string
	}{
		{name: "empty means single node", list: "", want: nil},
		{name: "three founders", list: "m1=10.0.0.1:7000, m2=10.0.0.2:7000,m3=host-3:7000",
			want: []Peer{{"m1", "10.0.0.1:7000"}, {"m2", "10.0.0.2:7000"}, {"m3", "host-3:7000"}}},
		{name: "trailing comma ignored", list: "m1=a:1,", want: []Peer{{"m1", "a:1"}}},
		{name: "missing equals", list: "m1", wantErr: "expected id=host:port"},
		{name: "missing id", list: "=a:1", wantErr: "expected id=host:port"},
		{name: "missing port", list: "m1=hostonly", wantErr: "invalid peer"},
		{name: "repeated id", list: "m1=a:1,m1=b:2", wantErr: "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePeers(tt.list)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePeers(%q) error = %v, want one containing %q", tt.list, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePeers(%q): %v", tt.list, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParsePeers(%q) = %v, want %v", tt.list, got, tt.want)
			}
		})
	}
}

func TestFoundingServers_SelfMustBeListed(t *testing.T) {
	cfg := Config{ID: "m9", Peers: []Peer{{"m1", "a:1"}, {"m2", "b:2"}}}
	if _, err := foundingServers(cfg, "self:1"); err == nil || !strings.Contains(err.Error(), "m9") {
		t.Errorf("founding servers without this master: error = %v, want one naming m9", err)
	}
}
