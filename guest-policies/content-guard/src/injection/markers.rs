//! The raw-text markers `carriers` looks for: chat templates, forged turns,
//! forged tool calls, hiding styles, and the query parameters that carry
//! data out of a markdown image. `build.rs` reads this file too and
//! compiles the first three lists to DFAs, so it holds nothing but lists.

/// Markers of a chat template or a conversation turn that a memory note has
/// no reason to contain (lowercase; matched at `<`, `[` or `{`).
pub(crate) const TEMPLATE_MARKERS: &[&str] = &[
    "<|im_start|>", "<|im_end|>", "<|system|>", "<|user|>", "<|assistant|>", "<|endoftext|>", "<|begin_of_text|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|end|>", "<|channel|>", "<|message|>", "[inst]",
    "[/inst]", "<<sys>>", "<</sys>>", "<system>", "</system>", "<system_prompt>", "<sys>", "</user>",
    "</assistant>", "<instructions>", "<start_of_turn>", "<end_of_turn>", "<|tool_call|>",
    "<tool_call>", "<function_call>", "<function_calls>", "<invoke ", "[system]", "[system message]", "[admin]",
    "[assistant]", "[developer]", "<developer>", "[system](#",
];

/// Speaker labels and boundaries that open a forged turn when they start a
/// line.
pub(crate) const LINE_ROLES: &[&str] = &[
    "system:", "agent:", "system prompt:", "system message:", "assistant:", "ai:", "developer:", "admin:", "administrator:",
    "### system", "### instruction", "### response", "### assistant", "## system", "# system", "[system", "system>",
    "<system", "human:", "new system prompt", "system override", "system update", "system notice",
    "system instructions:", "system instruction:", "end of user input", "end of input", "end of document",
    "end of context", "begin system", "### new instructions", "=== system", "new task from", "updated agent policy",
    "agent policy update", "admin override", "developer override", "important instructions:",
];

/// Shapes of a forged tool call or chat message in JSON.
pub(crate) const JSON_ROLE_MARKERS: &[&str] = &[
    "\"role\": \"system\"", "\"role\":\"system\"", "\"role\": \"assistant\"", "\"role\":\"assistant\"",
    "\"role\": \"tool\"", "\"role\":\"tool\"", "\"role\": \"developer\"", "\"role\":\"developer\"",
    "\"function_call\"", "\"tool_calls\"", "\"tool_call\"", "\"tool_use\"",
];

/// Inline styles that hide an element's text from a reader of the page
/// (matched with white space removed).
pub(crate) const HIDING_STYLES: &[&str] = &[
    "display:none", "visibility:hidden", "font-size:0", "opacity:0", "color:#fff", "color:#ffffff", "color:white",
    "color=\"#fff", "color=\"white", "height:0", "width:0", "left:-9999", "text-indent:-9999",
];

/// Query parameters named for what an exfiltrating image sends.
pub(crate) const DATA_PARAMETERS: &[&str] = &[
    "data", "secret", "token", "key", "pw", "pass", "password", "history", "chat", "conversation", "msg", "message",
    "info", "leak", "session", "cookie", "email", "user", "memory", "content", "text", "payload", "summary", "prompt",
    "keys", "creds", "env",
];
