//! The rules every language's tool guard follows, defined once.
//!
//! A guard checks a tool call before it runs. Its identity (user, groups, context) and its
//! evidence come from the host only; the tool call's arguments are never merged into the
//! context, so nothing a model writes into a call can change who the call is made for or what
//! targeting sees. A call that is not allowed is blocked with one of three outcomes, named
//! here so that Python and Node raise the same class with the same code.

use crate::decision::Action;

/// Why a guarded call did not run: one per action other than `allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Blocked {
    /// The decision is `deny`.
    Denied,
    /// The decision is `step_up`: the user must re-authenticate first.
    StepUpRequired,
    /// The decision is `request_approval`: an approver must grant the call first.
    ApprovalRequired,
}

impl Blocked {
    /// Every outcome, in the order of the actions they stand for.
    pub const ALL: [Blocked; 3] = [
        Blocked::StepUpRequired,
        Blocked::ApprovalRequired,
        Blocked::Denied,
    ];

    /// The outcome of a decision's action: `None` for `allow`, the call runs.
    pub const fn of(action: Action) -> Option<Blocked> {
        match action {
            Action::Allow => None,
            Action::StepUp => Some(Blocked::StepUpRequired),
            Action::RequestApproval => Some(Blocked::ApprovalRequired),
            Action::Deny => Some(Blocked::Denied),
        }
    }

    /// The stable code of the error a guard raises, the same in every language.
    pub const fn code(self) -> &'static str {
        match self {
            Blocked::Denied => "tool_denied",
            Blocked::StepUpRequired => "step_up_required",
            Blocked::ApprovalRequired => "approval_required",
        }
    }

    /// The name of the error class a guard raises, the same in every language.
    pub const fn class_name(self) -> &'static str {
        match self {
            Blocked::Denied => "ToolDenied",
            Blocked::StepUpRequired => "StepUpRequired",
            Blocked::ApprovalRequired => "ApprovalRequired",
        }
    }

    /// The text a framework adapter gives the model when the call did not run, so that the
    /// model reads a refusal (and whether retrying can help) instead of a crash. It names the
    /// tool, never the policies (what the policies say is the administrator's, not the
    /// model's), and is the same in every language.
    pub fn model_message(self, connector: &str, tool: &str) -> String {
        match self {
            Blocked::Denied => format!(
                "The call to {connector}/{tool} was denied by policy and did not run. \
                 Do not retry it; tell the user it is not allowed."
            ),
            Blocked::StepUpRequired => format!(
                "The call to {connector}/{tool} did not run: the user must re-authenticate \
                 first. It can be retried once they have."
            ),
            Blocked::ApprovalRequired => format!(
                "The call to {connector}/{tool} did not run: it needs an approver's approval \
                 first, and an approval request was opened. It can be retried once approved."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_but_allow_blocks() {
        assert_eq!(Blocked::of(Action::Allow), None);
        for action in [Action::StepUp, Action::RequestApproval, Action::Deny] {
            let blocked = Blocked::of(action);
            assert!(blocked.is_some(), "{action} must block");
        }
        let codes: std::collections::BTreeSet<_> = Blocked::ALL.iter().map(|b| b.code()).collect();
        assert_eq!(codes.len(), 3);
        for blocked in Blocked::ALL {
            let text = blocked.model_message("github", "delete_repository");
            assert!(text.contains("github/delete_repository"), "{text}");
            assert!(text.contains("did not run"), "{text}");
        }
    }
}
