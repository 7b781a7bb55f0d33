package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/podling/podling/internal/client"
	"github.com/podling/podling/internal/types"
)

// The tables of each kind of object. A func of now gives the tables that
// show ages.

func taskTable(now time.Time) table[types.Task] {
	return table[types.Task]{cols: []column[types.Task]{
		{header: "ID", value: func(t types.Task) string { return t.TaskID }},
		{header: "NAME", value: func(t types.Task) string { return t.Name }},
		{header: "NAMESPACE", value: func(t types.Task) string { return t.Namespace }},
		{header: "IMAGE", value: func(t types.Task) string { return t.Image }},
		{header: "STATUS", value: func(t types.Task) string { return string(t.Status) }},
		{header: "NODE", value: func(t types.Task) string { return t.NodeID }},
		{header: "AGE", value: func(t types.Task) string { return age(t.CreatedAt, now) }},
		{header: "EXIT", wide: true, value: func(t types.Task) string { return exitCodeText(t.ExitCode) }},
		{header: "REASON", wide: true, value: func(t types.Task) string { return t.Reason }},
		{header: "CONTAINER", wide: true, value: func(t types.Task) string { return shortID(t.ContainerID) }},
		{header: "LABELS", wide: true, value: func(t types.Task) string { return client.FormatSelector(t.Labels) }},
	}}
}

func podTable(now time.Time) table[types.Pod] {
	return table[types.Pod]{cols: []column[types.Pod]{
		{header: "ID", value: func(p types.Pod) string { return p.PodID }},
		{header: "NAME", value: func(p types.Pod) string { return p.Name }},
		{header: "NAMESPACE", value: func(p types.Pod) string { return p.Namespace }},
		{header: "STATUS", value: func(p types.Pod) string { return string(p.Status) }},
		{header: "READY", value: podReady},
		{header: "RESTARTS", value: podRestarts},
		{header: "NODE", value: func(p types.Pod) string { return p.NodeID }},
		{header: "AGE", value: func(p types.Pod) string { return age(p.CreatedAt, now) }},
		{header: "IP", wide: true, value: func(p types.Pod) string { return p.PodIP }},
		{header: "REASON", wide: true, value: func(p types.Pod) string { return p.Reason }},
		{header: "LABELS", wide: true, value: func(p types.Pod) string { return client.FormatSelector(p.Labels) }},
	}}
}

func serviceTable(now time.Time) table[types.Service] {
	return table[types.Service]{cols: []column[types.Service]{
		{header: "ID", value: func(s types.Service) string { return s.ServiceID }},
		{header: "NAME", value: func(s types.Service) string { return s.Name }},
		{header: "NAMESPACE", value: func(s types.Service) string { return s.Namespace }},
		{header: "SELECTOR", value: func(s types.Service) string { return client.FormatSelector(s.Selector) }},
		{header: "PORTS", value: servicePorts},
		{header: "AGE", value: func(s types.Service) string { return age(s.CreatedAt, now) }},
		{header: "LABELS", wide: true, value: func(s types.Service) string { return client.FormatSelector(s.Labels) }},
	}}
}

// endpointRow is one address of a service, ready or not.
type endpointRow struct {
	types.EndpointAddress
	ready bool
}

var endpointTable = table[endpointRow]{cols: []column[endpointRow]{
	{header: "ADDRESS", value: func(e endpointRow) string { return e.Address }},
	{header: "READY", value: func(e endpointRow) string { return yesNo(e.ready) }},
	{header: "POD", value: func(e endpointRow) string { return e.PodName }},
	{header: "POD ID", value: func(e endpointRow) string { return e.PodID }},
	{header: "NODE", value: func(e endpointRow) string { return e.NodeID }},
	{header: "PORT NAME", value: func(e endpointRow) string { return e.PortName }},
}}

func endpointRows(ep types.Endpoints) []endpointRow {
	rows := make([]endpointRow, 0, len(ep.Addresses)+len(ep.NotReadyAddresses))
	for _, addr := range ep.Addresses {
		rows = append(rows, endpointRow{EndpointAddress: addr, ready: true})
	}
	for _, addr := range ep.NotReadyAddresses {
		rows = append(rows, endpointRow{EndpointAddress: addr})
	}
	return rows
}

func nodeTable(now time.Time) table[types.Node] {
	return table[types.Node]{cols: []column[types.Node]{
		{header: "ID", value: func(n types.Node) string { return n.NodeID }},
		{header: "STATUS", value: func(n types.Node) string { return string(n.Status) }},
		{header: "SCHEDULABLE", value: schedulable},
		{header: "ADDRESS", value: func(n types.Node) string { return n.Hostname + ":" + strconv.Itoa(n.Port) }},
		{header: "TASKS", value: func(n types.Node) string { return strconv.Itoa(n.RunningTasks) }},
		{header: "PODS", value: func(n types.Node) string { return strconv.Itoa(n.RunningPods) }},
		{header: "CAPACITY", value: func(n types.Node) string { return strconv.Itoa(n.Capacity) }},
		{header: "AGE", value: func(n types.Node) string { return age(n.RegisteredAt, now) }},
		{header: "CPU USED", wide: true, value: func(n types.Node) string {
			return fmt.Sprintf("%dm/%dm", n.Used.CPUMillis, n.Allocatable.CPUMillis)
		}},
		{header: "MEMORY USED", wide: true, value: func(n types.Node) string {
			return fmt.Sprintf("%dMi/%dMi", n.Used.MemoryBytes>>20, n.Allocatable.MemoryBytes>>20)
		}},
		{header: "LAST HEARTBEAT", wide: true, value: func(n types.Node) string { return timestamp(n.LastHeartbeat) }},
	}}
}

var memberTable = table[client.MemberInfo]{cols: []column[client.MemberInfo]{
	{header: "ID", value: func(m client.MemberInfo) string { return m.ID }},
	{header: "LEADER", value: func(m client.MemberInfo) string { return yesNo(m.Leader) }},
	{header: "VOTER", value: func(m client.MemberInfo) string { return yesNo(m.Voter) }},
	{header: "HEALTHY", value: func(m client.MemberInfo) string { return yesNo(m.Healthy) }},
	{header: "RAFT ADDRESS", value: func(m client.MemberInfo) string { return m.RaftAddress }},
	{header: "API ADDRESS", value: func(m client.MemberInfo) string { return m.APIAddress }},
	{header: "APPLIED", value: func(m client.MemberInfo) string { return uintOrEmpty(m.AppliedIndex) }},
	{header: "ERROR", value: func(m client.MemberInfo) string { return m.Error }},
	{header: "LAST CONTACT", wide: true, value: func(m client.MemberInfo) string {
		if m.LastContact == nil {
			return ""
		}
		return timestamp(*m.LastContact)
	}},
}}

var failoverTable = table[types.LeaderChange]{cols: []column[types.LeaderChange]{
	{header: "TERM", value: func(c types.LeaderChange) string { return strconv.FormatUint(c.Term, 10) }},
	{header: "LEADER", value: func(c types.LeaderChange) string { return c.LeaderID }},
	{header: "PREVIOUS", value: func(c types.LeaderChange) string { return c.PreviousLeaderID }},
	{header: "AT", value: func(c types.LeaderChange) string { return timestamp(c.At) }},
	{header: "SINCE PREVIOUS", value: func(c types.LeaderChange) string { return c.SincePrevious }},
}}

func podReady(p types.Pod) string {
	ready := 0
	for _, s := range p.ContainerStatuses {
		if s.Ready {
			ready++
		}
	}
	return fmt.Sprintf("%d/%d", ready, len(p.Containers))
}

func podRestarts(p types.Pod) string {
	restarts := 0
	for _, s := range p.ContainerStatuses {
		restarts += s.RestartCount
	}
	return strconv.Itoa(restarts)
}

// servicePorts lists ports as podling service create takes them:
// [NAME=]PORT:TARGETPORT.
func servicePorts(s types.Service) string {
	parts := make([]string, len(s.Ports))
	for i, p := range s.Ports {
		parts[i] = fmt.Sprintf("%d:%d", p.Port, p.TargetPort)
		if p.Name != "" {
			parts[i] = p.Name + "=" + parts[i]
		}
	}
	return strings.Join(parts, ",")
}

func schedulable(n types.Node) string {
	if !n.Unschedulable {
		return "yes"
	}
	if n.CordonReason != "" {
		return "no (" + n.CordonReason + ")"
	}
	return "no"
}

func exitCodeText(code *int) string {
	if code == nil {
		return ""
	}
	return strconv.Itoa(*code)
}

// shortID shortens a container ID to the 12 characters Docker shows.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func uintOrEmpty(n uint64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatUint(n, 10)
}
