package fsm

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/podling/podling/internal/types"
)

func TestEncodeDecode_RoundTrip(t *testing.T) {
	tests := []struct {
		name string
		cmd  Command
	}{
		{
			name: "create task",
			cmd: CreateTask{Task: types.Task{
				TaskID:    "20250119123456-abc12345",
				Name:      "echo",
				Image:     "registry.local/echo:1.0",
				Env:       map[string]string{"PORT": "8080", "MODE": "test"},
				CreatedAt: at(1),
			}},
		},
		{
			name: "update task status",
			cmd: UpdateTaskStatus{
				TaskID: "20250119123456-abc12345",
				Update: types.TaskStatusUpdate{
					Status:      types.TaskFailed,
					ContainerID: "ctr-1",
					ExitCode:    intPtr(137),
					Reason:      types.ReasonNonZeroExit,
					Message:     "killed",
					NodeID:      "node-1",
				},
				Time: at(2),
			},
		},
		{
			name: "register node",
			cmd: RegisterNode{Node: types.Node{
				NodeID:        "node-1",
				Hostname:      "worker-1",
				Port:          8081,
				Capacity:      8,
				CPUMillis:     4000,
				MemoryBytes:   8 << 30,
				Status:        types.NodeOnline,
				LastHeartbeat: at(3),
				RegisteredAt:  at(3),
			}},
		},
		{
			name: "set node status",
			cmd:  SetNodeStatus{NodeID: "node-1", Status: types.NodeOffline, Time: at(4)},
		},
		{
			name: "node heartbeats",
			cmd: NodeHeartbeats{LastSeen: map[string]time.Time{
				"node-1": at(5),
				"node-2": at(6),
			}},
		},
		{
			name: "set master address",
			cmd:  SetMasterAddress{ServerID: "master-1", APIAddress: "http://10.0.0.1:8070"},
		},
	}

	covered := make(map[CommandType]bool)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := encode(t, tt.cmd)
			if len(data) < headerSize {
				t.Fatalf("expected at least %d bytes, got %d", headerSize, len(data))
			}
			if got := CommandType(data[0]); got != tt.cmd.Type() {
				t.Errorf("type byte: expected %d (%s), got %d", tt.cmd.Type(), tt.cmd.Type(), got)
			}
			if data[1] != CommandVersion {
				t.Errorf("version byte: expected %d, got %d", CommandVersion, data[1])
			}

			got, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode: expected no error, got %v", err)
			}
			if !reflect.DeepEqual(got, tt.cmd) {
				t.Errorf("Decode: expected %T %s, got %T %s", tt.cmd, show(tt.cmd), got, show(got))
			}
		})
		covered[tt.cmd.Type()] = true
	}

	for _, typ := range []CommandType{
		CommandCreateTask, CommandUpdateTaskStatus, CommandRegisterNode,
		CommandSetNodeStatus, CommandNodeHeartbeats, CommandSetMasterAddress,
	} {
		if !covered[typ] {
			t.Errorf("command type %s has no round-trip case", typ)
		}
	}
}

func TestDecode_Rejects(t *testing.T) {
	valid := encode(t, SetMasterAddress{ServerID: "m1", APIAddress: "http://m1:8070"})
	payload := valid[headerSize:]
	withHeader := func(typ, version byte, body []byte) []byte {
		return append([]byte{typ, version}, body...)
	}

	tests := []struct {
		name    string
		data    []byte
		wantErr error
	}{
		{"nil entry", nil, ErrInvalidCommand},
		{"empty entry", []byte{}, ErrInvalidCommand},
		{"type byte only", []byte{byte(CommandCreateTask)}, ErrInvalidCommand},
		{"type zero", withHeader(0, CommandVersion, payload), ErrUnknownCommand},
		{"type from the future", withHeader(200, CommandVersion, payload), ErrUnknownCommand},
		{"newer version", withHeader(byte(CommandSetMasterAddress), CommandVersion+1, payload), ErrUnknownCommand},
		{"version zero", withHeader(byte(CommandSetMasterAddress), 0, payload), ErrUnknownCommand},
		{"header without payload", withHeader(byte(CommandCreateTask), CommandVersion, nil), ErrInvalidCommand},
		{"truncated JSON", withHeader(byte(CommandCreateTask), CommandVersion, []byte(`{"task":{"taskId":`)), ErrInvalidCommand},
		{"JSON of the wrong shape", withHeader(byte(CommandCreateTask), CommandVersion, []byte(`{"task":{"taskId":42}}`)), ErrInvalidCommand},
		{"not JSON", withHeader(byte(CommandNodeHeartbeats), CommandVersion, []byte("\x00\xff binary")), ErrInvalidCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, err := Decode(tt.data)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("expected error %v, got %v", tt.wantErr, err)
			}
			if cmd != nil {
				t.Errorf("expected no command, got %T %s", cmd, show(cmd))
			}
		})
	}
}

func TestCommandType_String(t *testing.T) {
	tests := []struct {
		name string
		typ  CommandType
		want string
	}{
		{"create task", CommandCreateTask, "create_task"},
		{"update task status", CommandUpdateTaskStatus, "update_task_status"},
		{"register node", CommandRegisterNode, "register_node"},
		{"set node status", CommandSetNodeStatus, "set_node_status"},
		{"node heartbeats", CommandNodeHeartbeats, "node_heartbeats"},
		{"set master address", CommandSetMasterAddress, "set_master_address"},
		{"unknown type", CommandType(99), "command_99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.typ.String(); got != tt.want {
				t.Errorf("expected %q, got %q", tt.want, got)
			}
		})
	}
}
