package chaos

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

// The model is one register per create key: absent until the create takes
// effect, present from then on. A read of the run's tasks is, for every
// key, a read of that register. Checking each key on its own is what
// porcupine's partitioning would do, and names the key that breaks.

type regInput struct {
	create bool
}

type regOutput struct {
	present bool
}

var registerModel = porcupine.Model{
	Init: func() any { return false },
	Step: func(state, input, output any) (bool, any) {
		if input.(regInput).create {
			return true, true
		}
		return output.(regOutput).present == state.(bool), state
	},
	DescribeOperation: func(input, output any) string {
		if input.(regInput).create {
			return "create"
		}
		return fmt.Sprintf("read -> present=%t", output.(regOutput).present)
	},
}

// checkLinearizable checks the history against the register model, key by
// key. final is the set of keys present after the cluster settled: a create
// whose outcome the client never learned took effect exactly when its key
// is in final, at some time after it was first sent.
func checkLinearizable(creates []createOp, reads []readOp, final map[string]bool, timeout time.Duration) error {
	perKey, err := createsByKey(creates, reads, final)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(perKey))
	for key := range perKey {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	deadline := time.Now().Add(timeout)
	for _, key := range keys {
		ops := keyHistory(key, perKey[key], reads)
		switch porcupine.CheckOperationsTimeout(registerModel, ops, time.Until(deadline)) {
		case porcupine.Illegal:
			return fmt.Errorf("reads of key %s are not linearizable with its create", key)
		case porcupine.Unknown:
			return fmt.Errorf("linearizability check timed out after %s", timeout)
		}
	}
	return nil
}

// createsByKey returns the create of each key that took effect. It fails
// when a read saw a key that is not in the final state, or one that no
// create was sent for.
func createsByKey(creates []createOp, reads []readOp, final map[string]bool) (map[string]*createOp, error) {
	perKey := make(map[string]*createOp)
	for i := range creates {
		op := &creates[i]
		if op.acked || final[op.key] {
			perKey[op.key] = op
		}
	}
	seen := make(map[string]bool)
	for key := range final {
		seen[key] = true
	}
	for _, r := range reads {
		for key := range r.keys {
			seen[key] = true
		}
	}
	sent := make(map[string]bool, len(creates))
	for _, op := range creates {
		sent[op.key] = true
	}
	for key := range seen {
		switch {
		case perKey[key] != nil:
		case sent[key]:
			return nil, fmt.Errorf("task with key %s was read, then was gone from the final state", key)
		default:
			return nil, fmt.Errorf("task with key %s was read, but no create was sent for it", key)
		}
	}
	return perKey, nil
}

// keyHistory projects the history onto one key. A create that was never
// acknowledged may have taken effect at any time after its first call, so
// its return is after everything else.
func keyHistory(key string, create *createOp, reads []readOp) []porcupine.Operation {
	ret := int64(math.MaxInt64)
	if create.acked {
		ret = create.ret
	}
	ops := make([]porcupine.Operation, 0, len(reads)+1)
	ops = append(ops, porcupine.Operation{
		ClientId: create.client, Input: regInput{create: true}, Call: create.call, Output: regOutput{}, Return: ret,
	})
	for _, r := range reads {
		ops = append(ops, porcupine.Operation{
			ClientId: r.client, Input: regInput{}, Call: r.call, Output: regOutput{present: r.keys[key]}, Return: r.ret,
		})
	}
	return ops
}
