// Package bot is the runtime: it takes inbound events from every channel,
// records them durably before they are acknowledged, processes each contact's
// messages strictly in order (contacts in parallel) through the flow engine
// or the human handoff, commits each turn atomically (session, history,
// events, outbox, ticket changes), and delivers replies from the durable
// outbox with retries and the channels' limits.
//
// The path of a message:
//
//	adapter -> HandleInbound -> store inbox (dedupe on the channel event id) -> ack
//	        -> contact lane -> handoff.Route -> flows.Engine.Step -> store.Commit(turn)
//	        -> outbox lane per address -> channel.Sender.Send -> store.DeleteOutboxes
//
// When the contact's lane is idle, HandleInbound skips the inbox: it runs the
// turn itself and the committed turn records the event id (answerNow), so
// the ack comes after one durable write instead of two.
//
// A restart resumes pending inbox entries and outbox entries, so a kill at any
// point loses no acknowledged message.
package bot
