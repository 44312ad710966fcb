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
//   - abandoned: the customer left after a message the bot did not
//     understand (a fallback or an error followed it), or while the bot
//     waited for the answer to a question (the last node entered is one of
//     Options.Questions: an ask node, such as "your order number?");
//   - returned: the flow reached an end node, but the customer wrote again
//     within Idle — the bot did not settle it;
//   - contained: everything else: no handoff, the bot understood the last
//     message and was not waiting for an answer.
//
// A conversation has ended — its outcome is decided — at a handoff, at an
// end node (a return within Idle still turns contained into returned), or
// after Idle of silence. Until then it is open: counted in Open, its
// outcome left out. The rates are over the ended ones:
// containment_rate = contained / ended, handoff_rate and abandon_rate
// likewise, ended = conversations − open, so every row reads
// conversations = open + contained + handed_off + abandoned + returned.
// Provisional counts every conversation with the outcome it has as its
// events stand (an open one as if the customer wrote nothing more), and
// its rates are over all conversations: the figure for a day that is still
// running. handoffs_by_reason counts handed-off conversations by the
// reason of their first handoff (one per conversation).
//
// # Fallbacks and drop-off per node
//
// bot_turns counts customer messages the bot handled: not those written
// while a ticket was open, one that reopened a ticket, or the answer to a
// CSAT question (unless handoff recorded it as skipped, when the bot
// handled it); fallback_rate = fallback events / bot_turns. Per
// node, a Funnel reports how many conversations entered it at least once,
// the fallbacks at it, the handoffs requested right after it, and drop-off:
// the ended conversations that neither reached an end node nor were handed
// off and whose last node entered was this one (abandoned counts the subset
// whose last message was not understood). drop_off_rate = dropped / entered.
//
// # Tickets
//
// Ticket figures use the stored tickets created within [From, To); a ticket
// takes the day, channel, language and flows of the conversation in which it
// was opened (found through its ticket.queued event), or else its creation
// day and address channel. AFRT (agent first response time) is
// FirstReplyAt − CreatedAt (from the handoff) of tickets an agent answered,
// and FirstReplyAt − the first customer message of the conversation the
// ticket was opened in (from the customer's first message: the top of what
// the agent sees); queue wait is AssignedAt − CreatedAt (from ReopenedAt
// for a reopened ticket); each also within business hours only when
// Options.Hours is set. Resolution time is ResolvedAt − CreatedAt of
// resolved tickets. Medians and p90 interpolate linearly between the
// closest ranks (numpy's and R's default). CSAT average and distribution
// (1–5) use the tickets with a rating; the comments are the "comment" of
// ticket.csat events. Tickets per agent group the tickets by the agent
// holding them last.
//
// # Comparison, grouping, filters
//
// Options.Compare adds the totals of the period of the same length just
// before (same filter), and Headline lists the headline figures with both
// values and the change. ByTime groups by day, week (from Monday) or
// month. A Filter keeps the conversations of a channel, that entered a
// flow, that were handed off for a reason, or whose ticket an agent holds,
// and the tickets likewise.
//
// A figure that has nothing to be computed from (a rate over zero
// conversations, a median of no tickets) is nil, JSON null — never a
// made-up zero.
package analytics
