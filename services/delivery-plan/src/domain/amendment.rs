//! Amendment by joint agreement (003 App. 3): either party proposes; only the *other* party may
//! agree or reject; only the proposer may withdraw; once decided an amendment stays decided.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Council,
    Almo,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Council => "council",
            Party::Almo => "almo",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "council" => Some(Party::Council),
            "almo" => Some(Party::Almo),
            _ => None,
        }
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Party::Council => "the council",
            Party::Almo => "the ALMO",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmendmentState {
    Proposed,
    Agreed,
    Rejected,
    Withdrawn,
}

impl AmendmentState {
    pub fn as_str(self) -> &'static str {
        match self {
            AmendmentState::Proposed => "proposed",
            AmendmentState::Agreed => "agreed",
            AmendmentState::Rejected => "rejected",
            AmendmentState::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            AmendmentState::Proposed,
            AmendmentState::Agreed,
            AmendmentState::Rejected,
            AmendmentState::Withdrawn,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Agree,
    Reject,
    Withdraw,
}

/// Why an answer to an amendment is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerRefusal {
    /// It was already agreed, rejected or withdrawn.
    NotPending(AmendmentState),
    /// Only the party that did not propose it may agree or reject it.
    OnlyTheOtherParty(Party),
    /// Only the proposer may withdraw it.
    OnlyTheProposer(Party),
}

impl fmt::Display for AnswerRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerRefusal::NotPending(s) => write!(f, "the amendment is already {}", s.as_str()),
            AnswerRefusal::OnlyTheOtherParty(p) => write!(
                f,
                "{p} proposed this amendment: only the other party may agree or reject it"
            ),
            AnswerRefusal::OnlyTheProposer(p) => {
                write!(f, "{p} proposed this amendment: only it may withdraw it")
            }
        }
    }
}

/// The state an amendment moves to when `by` gives `answer`, or why it may not.
pub fn answer(
    state: AmendmentState,
    proposer: Party,
    by: Party,
    answer: Answer,
) -> Result<AmendmentState, AnswerRefusal> {
    if state != AmendmentState::Proposed {
        return Err(AnswerRefusal::NotPending(state));
    }
    match answer {
        Answer::Agree | Answer::Reject if by == proposer => {
            Err(AnswerRefusal::OnlyTheOtherParty(proposer))
        }
        Answer::Withdraw if by != proposer => Err(AnswerRefusal::OnlyTheProposer(proposer)),
        Answer::Agree => Ok(AmendmentState::Agreed),
        Answer::Reject => Ok(AmendmentState::Rejected),
        Answer::Withdraw => Ok(AmendmentState::Withdrawn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AmendmentState::*;
    use Party::*;

    #[test]
    fn amendment_takes_effect_only_on_the_other_partys_agreement() {
        assert_eq!(
            answer(Proposed, Almo, Almo, Answer::Agree),
            Err(AnswerRefusal::OnlyTheOtherParty(Almo))
        );
        assert_eq!(answer(Proposed, Almo, Council, Answer::Agree), Ok(Agreed));
        assert_eq!(answer(Proposed, Council, Almo, Answer::Agree), Ok(Agreed));
        assert_eq!(
            answer(Proposed, Council, Council, Answer::Agree),
            Err(AnswerRefusal::OnlyTheOtherParty(Council))
        );
    }

    #[test]
    fn only_the_other_party_rejects_and_only_the_proposer_withdraws() {
        assert_eq!(
            answer(Proposed, Council, Almo, Answer::Reject),
            Ok(Rejected)
        );
        assert!(answer(Proposed, Council, Council, Answer::Reject).is_err());
        assert_eq!(
            answer(Proposed, Council, Council, Answer::Withdraw),
            Ok(Withdrawn)
        );
        assert_eq!(
            answer(Proposed, Council, Almo, Answer::Withdraw),
            Err(AnswerRefusal::OnlyTheProposer(Council))
        );
    }

    #[test]
    fn a_decided_amendment_stays_decided() {
        for state in [Agreed, Rejected, Withdrawn] {
            for a in [Answer::Agree, Answer::Reject, Answer::Withdraw] {
                assert_eq!(
                    answer(state, Almo, Council, a),
                    Err(AnswerRefusal::NotPending(state))
                );
            }
        }
    }
}
