package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"

	"github.com/podling/podling/internal/runtime"
)

// ensureImage pulls ref unless the engine already has it. A failed pull
// returns an error wrapping runtime.ErrImagePull that names ref.
func (r *Runtime) ensureImage(ctx context.Context, ref string) error {
	_, err := r.api.ImageInspect(ctx, ref)
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%w: inspect image %s: %w", runtime.ErrContainer, ref, err)
	}

	r.log.Info("pulling image", "image", ref)
	if err := r.pull(ctx, ref); err != nil {
		return fmt.Errorf("%w: %s: %w", runtime.ErrImagePull, ref, err)
	}
	r.log.Info("pulled image", "image", ref)
	return nil
}

// pull downloads ref and waits until the engine has finished. The engine
// reports a failure either as the HTTP response or, once streaming has
// begun, as an error message inside the progress stream.
func (r *Runtime) pull(ctx context.Context, ref string) error {
	stream, err := r.api.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer stream.Close()
	return drainPullStream(stream)
}

// pullMessage is the part of one progress message that matters here.
type pullMessage struct {
	Error       string `json:"error"`
	ErrorDetail struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// drainPullStream reads progress messages to the end and returns the first
// error message the engine sent, if any.
func drainPullStream(stream io.Reader) error {
	dec := json.NewDecoder(stream)
	for {
		var msg pullMessage
		err := dec.Decode(&msg)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read pull progress: %w", err)
		}
		if msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}
