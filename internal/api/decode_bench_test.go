package api

import (
	"testing"

	"github.com/podling/podling/internal/types"
)

// Request bodies of the size and shape clients typically send.
const (
	benchTaskBody = `{"name":"nginx-task","namespace":"production","labels":{"app":"web","tier":"frontend"},` +
		`"image":"nginx:1.27","env":{"PORT":"8080","LOG_LEVEL":"info","WORKERS":"4"}}`
	benchPodBody = `{"name":"my-web-app","namespace":"production","labels":{"app":"web"},"restartPolicy":"Always",` +
		`"containers":[{"name":"app","image":"myapp:1.0","env":{"PORT":"8080"},"ports":[{"name":"http","containerPort":8080}],` +
		`"resources":{"requests":{"cpuMillis":250,"memoryBytes":134217728},"limits":{"cpuMillis":500,"memoryBytes":268435456}},` +
		`"readinessProbe":{"httpGet":{"path":"/healthz","port":8080},"periodSeconds":5}},` +
		`{"name":"sidecar","image":"podling/echo:dev","args":["-v"],"livenessProbe":{"tcpSocket":{"port":9090}}}]}`
	benchServiceBody = `{"name":"web-service","namespace":"production","labels":{"app":"web"},"selector":{"app":"web"},` +
		`"ports":[{"name":"http","port":80,"targetPort":8080},{"name":"metrics","port":9090,"targetPort":9090}]}`
)

// benchmarkDecode measures decodeStrict followed by the request's
// validation, the work a create handler does before it proposes anything.
func benchmarkDecode[T any](b *testing.B, body string, validate func(T) error) {
	data := []byte(body)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var req T
		if err := decodeStrict(data, &req); err != nil {
			b.Fatalf("decode: %v", err)
		}
		if err := validate(req); err != nil {
			b.Fatalf("validate: %v", err)
		}
	}
}

func BenchmarkDecodeTask(b *testing.B) {
	benchmarkDecode(b, benchTaskBody, validateTaskRequest)
}

func BenchmarkDecodePod(b *testing.B) {
	benchmarkDecode(b, benchPodBody, validatePodRequest)
}

func BenchmarkDecodeService(b *testing.B) {
	benchmarkDecode(b, benchServiceBody, validateServiceRequest)
}

// BenchmarkDecodeTaskRejected measures a body rejected for a duplicate key,
// which the key check after decoding finds.
func BenchmarkDecodeTaskRejected(b *testing.B) {
	data := []byte(`{"name":"a","image":"nginx","name":"b"}`)
	b.ReportAllocs()
	for b.Loop() {
		var req types.CreateTaskRequest
		if err := decodeStrict(data, &req); err == nil {
			b.Fatal("decode: expected an error for a duplicate key, got nil")
		}
	}
}
