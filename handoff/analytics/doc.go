// Package analytics owns the numbers a support lead runs the service by:
// conversations and their outcomes, containment, handoffs by reason,
// fallbacks and drop-off per flow node, first-response and resolution times
// of tickets, CSAT and tickets per agent — in total and per day, flow,
// channel and language. It is pure computation over the event log and the
// tickets (see Source); it serves nothing and writes nothing. `parley stats`
// prints a Report and the console's lead dashboard draws one.
//
// The definitions below are the contract; docs/analytics.md explains them
// for support leads with examples.
//
// # Conversations
//
// A conversation is one contact's stretch of activity. It starts with a
// customer message (event message_in) when the contact has no conversation
// in progress, and every later event of that contact (bot, agent and ticket
// events included) belongs to it until either
//
//   - the flow reaches an end node (event conversation_end): it ends there,
//     and the next customer message starts a new conversation; or
//   - the contact is silent for Options.Idle (24 h by default): it ends at
//     its last event.
//
// Events of a contact with no conversation in progress that are not a
// customer message (a late agent action, a timer) start nothing.
//
// A conversation belongs to the day (in Options.Location, UTC by default)
// on which it started, to the channel of its first customer message, to the
// language of its last customer message that carried one ("unknown" when
// none did) and to every flow in which it entered a node: a conversation
// that went from the menu into the order flow is counted under both flows,
// so the flow rows can add up to more than the total. The day, channel and
// language rows add up to the total.
//
// # One outcome per conversation
//
// Each conversation has exactly one outcome, checked in this order, so that
// nothing is counted twice (a handoff after a bot answer is handed_off, not
// also contained):
//
//   - handed_off: a handoff happened in it (handoff_requested, ticket.queued
//     or ticket.reopened), whatever came before or after;
//   - open: not finished yet — no end node and its last event is less than
//     Idle before the end of the data (Options.Now), or it reached an end
//     node less than Idle before that, so a return cannot be ruled out.
//     Open conversations are counted but excluded from every rate;
//   - abandoned: the bot did not understand the customer's last message (a
//     fallback or an error followed it) and the customer left;
//   - returned: the flow reached an end node, but the customer wrote again
//     within Idle — the bot did not settle it;
//   - contained: everything else: no handoff, the bot understood the last
//     message, and no new conversation followed within Idle.
//
// containment_rate = contained / closed, where closed = contained +
// handed_off + abandoned + returned (every conversation that is not open).
// handoff_rate is handed_off / closed. handoffs_by_reason counts handed-off
// conversations by the reason of their first handoff (one per
// conversation).
//
// # Fallbacks and drop-off per node
//
// bot_turns counts customer messages the bot handled: not those written
// while a ticket was open, one that reopened a ticket, or the answer to a
// CSAT question (unless handoff recorded it as skipped, when the bot
// handled it); fallback_rate = fallback events / bot_turns. Per
// node, a Funnel reports how many conversations entered it at least once,
// the fallbacks at it, the handoffs requested right after it, and drop-off:
// the closed conversations that neither reached an end node nor were handed
// off and whose last node entered was this one (abandoned counts the subset
// whose last message was not understood). drop_off_rate = dropped / entered.
//
// # Tickets
//
// Ticket figures use the stored tickets created within [From, To); a ticket
// takes the day, channel, language and flows of the conversation in which it
// was opened (found through its ticket.queued event), or else its creation
// day and address channel. AFRT (agent first response time) is
// FirstReplyAt − CreatedAt of tickets an agent answered; resolution time is
// ResolvedAt − CreatedAt of resolved tickets. Medians and p90 interpolate
// linearly between the closest ranks (numpy's and R's default). CSAT average
// and distribution (1–5) use the tickets with a rating. Tickets per agent
// group the tickets by the agent holding them last.
//
// A figure that has nothing to be computed from (a rate over zero
// conversations, a median of no tickets) is nil, JSON null — never a
// made-up zero.
package analytics
