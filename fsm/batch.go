package fsm

import (
	"encoding/binary"
	"fmt"
)

// Batch is a log entry that carries several encoded commands. Apply applies
// them in order, each as if it had an entry of its own, so a rejected
// command leaves the others applied. The leader batches commands proposed
// at the same time, to save a log entry and a store write per command.
type Batch struct {
	// Entries are commands as Encode writes them. A batch never contains
	// another batch.
	Entries [][]byte
}

// Type implements Command.
func (Batch) Type() CommandType { return CommandBatch }

// BatchResults is what Apply returns for a Batch: for each entry, in
// order, what Apply would have returned for it alone, which is the changed
// object, nil or an error.
type BatchResults []any

// encodeBatch writes the payload of a batch: each entry as its length
// (uvarint) followed by its bytes. The entries are encoded commands
// already, so wrapping them in JSON would only add escaping.
func encodeBatch(b Batch) []byte {
	size := headerSize
	for _, entry := range b.Entries {
		size += binary.MaxVarintLen64 + len(entry)
	}
	out := make([]byte, 0, size)
	out = append(out, byte(CommandBatch), CommandVersion)
	for _, entry := range b.Entries {
		out = binary.AppendUvarint(out, uint64(len(entry)))
		out = append(out, entry...)
	}
	return out
}

// decodeBatch splits a batch payload into its entries. The entries share
// the payload's memory.
func decodeBatch(payload []byte) (Batch, error) {
	var b Batch
	for len(payload) > 0 {
		size, n := binary.Uvarint(payload)
		if n <= 0 || size > uint64(len(payload)-n) {
			return Batch{}, fmt.Errorf("%w: batch entry %d has an invalid length", ErrInvalidCommand, len(b.Entries))
		}
		payload = payload[n:]
		b.Entries = append(b.Entries, payload[:size:size])
		payload = payload[size:]
	}
	if len(b.Entries) == 0 {
		return Batch{}, fmt.Errorf("%w: empty batch", ErrInvalidCommand)
	}
	return b, nil
}

// applyBatchLocked applies every entry of a batch in order and collects
// what each returned.
func (f *FSM) applyBatchLocked(b Batch, index uint64) BatchResults {
	results := make(BatchResults, len(b.Entries))
	for i, data := range b.Entries {
		cmd, err := Decode(data)
		if err == nil && cmd.Type() == CommandBatch {
			err = fmt.Errorf("%w: a batch inside a batch", ErrInvalidCommand)
		}
		if err != nil {
			f.logger.Error("decoding batch entry failed", "index", index, "entry", i, "error", err)
			results[i] = err
			continue
		}
		f.appliedByType[cmd.Type()]++
		result, err := f.applyLocked(cmd)
		if err != nil {
			results[i] = err
			continue
		}
		results[i] = result
	}
	return results
}
