//! The decision log record: one JSON object per decision, the same in every language.
//!
//! The guard, every framework adapter and `agen-policy serve` can report each decision to a
//! callback; the record they report is made here, so that a log written from Python, Node or
//! the server reads alike. The core stays pure: the host passes the record's `id` and `time`
//! (its clock, Unix milliseconds), and writes the record where it likes (the bindings ship a
//! JSON-lines sink).
//!
//! A record's members, in this order: `id`, `time` (RFC 3339, UTC, milliseconds), `version`,
//! `user`, `groups` (left out when empty), `connector`, `tool`, `tool_call_id` (left out when
//! none), `action`, `reason`, `policies`, `approval_flows`, `satisfied`, `step_up` (left out
//! unless the action is `step_up`), `arguments_digest` (when the request carried one) and
//! `arguments` (the tool call's argument values, only when the host chose to log them).

use serde::Serialize;
use serde_json::Value;

use crate::decision::OwnedDecision;
use crate::evidence::{Millis, StepUpRequirement};

/// What a decision log record says about one decision. Borrowed: build it, call
/// [`DecisionRecord::to_json_line`], drop it.
#[derive(Debug, Clone, Copy)]
pub struct DecisionRecord<'a> {
    /// The host's id of this decision (unique in its log).
    pub id: &'a str,
    /// When the decision was made, by the host's clock (Unix milliseconds).
    pub time: Millis,
    /// The user the call was made for.
    pub user: &'a str,
    /// The user's group claims, as the request carried them.
    pub groups: &'a [String],
    /// The connector of the call.
    pub connector: &'a str,
    /// The tool of the call.
    pub tool: &'a str,
    /// The framework's id of the tool call, where it has one.
    pub tool_call_id: Option<&'a str>,
    /// The decision.
    pub decision: &'a OwnedDecision,
    /// The request's `arguments` evidence (an `arguments_digest`), if any.
    pub arguments_digest: Option<&'a str>,
    /// The call's argument values, only when the host logs them.
    pub arguments: Option<&'a Value>,
}

impl DecisionRecord<'_> {
    /// The record as one line of JSON, members in the documented order (no line break: a
    /// JSON-lines sink adds it). Control characters in strings are escaped by JSON, so a record
    /// is always exactly one line.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(&self.line()).unwrap_or_else(|_| String::from("{}"))
    }

    /// The record as a JSON value (a `serde_json` map: its members are in key order).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self.line()).unwrap_or(Value::Null)
    }

    fn line(&self) -> Line<'_> {
        let d = self.decision;
        Line {
            id: self.id,
            time: format_timestamp(self.time),
            version: &d.version,
            user: self.user,
            groups: self.groups,
            connector: self.connector,
            tool: self.tool,
            tool_call_id: self.tool_call_id,
            action: d.action.as_str(),
            reason: d.reason.as_str(),
            policies: &d.policies,
            approval_flows: &d.approval_flows,
            satisfied: &d.satisfied,
            step_up: &d.step_up,
            arguments_digest: self.arguments_digest,
            arguments: self.arguments,
        }
    }
}

/// The serialized form: a struct, so that members keep their order.
#[derive(Serialize)]
struct Line<'a> {
    id: &'a str,
    time: String,
    version: &'a str,
    user: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    groups: &'a [String],
    connector: &'a str,
    tool: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
    action: &'a str,
    reason: &'a str,
    policies: &'a [String],
    approval_flows: &'a [String],
    satisfied: &'a [String],
    #[serde(skip_serializing_if = "<[StepUpRequirement]>::is_empty")]
    step_up: &'a [StepUpRequirement],
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments_digest: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments: Option<&'a Value>,
}

/// An instant as RFC 3339 text in UTC with milliseconds, e.g. `2026-11-29T15:24:50.123Z`.
/// Years outside 0000–9999 are written with a sign and six digits (RFC 3339 has no form for
/// them; this is ISO 8601's expanded form), so every `i64` formats.
pub fn format_timestamp(time: Millis) -> String {
    let days = time.div_euclid(86_400_000);
    let in_day = time.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (h, rest) = (in_day / 3_600_000, in_day % 3_600_000);
    let (min, rest) = (rest / 60_000, rest % 60_000);
    let (s, ms) = (rest / 1000, rest % 1000);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        format!("{year:+07}")
    };
    format!("{year}-{month:02}-{day:02}T{h:02}:{min:02}:{s:02}.{ms:03}Z")
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{Action, Reason};
    use crate::evidence::parse_timestamp;

    #[test]
    fn timestamps_format_and_parse_back() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            format_timestamp(1_795_965_890_123),
            "2026-11-29T15:24:50.123Z"
        );
        assert_eq!(
            format_timestamp(951_782_400_000),
            "2000-02-29T00:00:00.000Z"
        );
        for t in [
            0,
            -1,
            951_782_400_000,
            1_795_965_890_123,
            -62_135_596_800_000,
            253_402_300_799_999,
        ] {
            let text = format_timestamp(t);
            assert_eq!(
                parse_timestamp(&Value::from(text.clone())),
                Some(t),
                "{text}"
            );
        }
        // Beyond year 9999: expanded years, never a panic.
        assert!(format_timestamp(i64::MAX).starts_with('+'));
        assert!(format_timestamp(i64::MIN).starts_with('-'));
    }

    #[test]
    fn a_record_has_its_members_in_order_and_leaves_out_what_is_absent() {
        let decision = OwnedDecision {
            action: Action::Deny,
            reason: Reason::Policy,
            policies: vec!["p1".into()],
            approval_flows: vec![],
            satisfied: vec![],
            step_up: vec![],
            version: "v".into(),
        };
        let record = DecisionRecord {
            id: "d1",
            time: 0,
            user: "alice\n",
            groups: &[],
            connector: "github",
            tool: "delete_repository",
            tool_call_id: None,
            decision: &decision,
            arguments_digest: None,
            arguments: None,
        };
        let line = record.to_json_line();
        assert!(!line.contains('\n'));
        let keys: Vec<&str> = line
            .split('"')
            .collect::<Vec<_>>()
            .windows(3)
            .filter(|w| w[2].starts_with(':'))
            .map(|w| w[1])
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "time",
                "version",
                "user",
                "connector",
                "tool",
                "action",
                "reason",
                "policies",
                "approval_flows",
                "satisfied"
            ]
        );
        let args = serde_json::json!({"name": "x"});
        let full = DecisionRecord {
            groups: &["eng".to_string()],
            tool_call_id: Some("call_1"),
            arguments_digest: Some("sha256:00"),
            arguments: Some(&args),
            ..record
        }
        .to_value();
        assert_eq!(full["groups"], serde_json::json!(["eng"]));
        assert_eq!(full["tool_call_id"], "call_1");
        assert_eq!(full["arguments"]["name"], "x");
        assert_eq!(full["arguments_digest"], "sha256:00");
    }
}
