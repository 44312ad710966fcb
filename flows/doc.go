// Package flows owns the flow language and its pure engine.
//
// LoadDir / LoadFS read a project (parley.yaml, flows/*.yaml, faq.yaml),
// compile every expression and template once against a typed environment
// and validate the whole project, reporting every problem at once as a
// sorted ErrorList of "file:line:col: path: message" entries.
//
// Engine.Step is a pure step function: (compiled project, session State,
// Input) -> (new State, Outputs). It does no I/O except through the small
// interfaces in Options (an HTTP caller; the clock comes with the Input), so
// the runtime persists the State it returns and delivers the Outputs.
// What the engine cannot do itself it asks for as an Output: a handoff, a
// contact field to store, a link code to issue and send (a link node).
// An Input with Debug set also gets a Trace of what the engine understood
// and did (a Debug output, for people tuning a project, never for the
// customer); replies follow the language of the customer's latest clear
// message.
//
// Project.Graph describes a flow as nodes and labelled edges for the
// dashboard; Options.Settings lets the runtime override project settings.
//
// The syntax sub-package reads YAML with positions, eval compiles
// expressions, flowtest runs conversation tests and suites, demo embeds the demo
// project and nlu (another owner) understands free text.
package flows
