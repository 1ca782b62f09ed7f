//! No existence oracle (OWASP API1): return ids are predictable (`ORG/YEAR/Y`), so for every
//! call that names a return, another organisation's real return and an id that does not exist
//! get the same answer.

mod common;

use almo_proto::pi_returns::{
    GetReturnRequest, SetValuesRequest, SignOffReturnRequest, SubmitReturnRequest,
};
use common::*;
use tonic::Status;

/// The answer's code and message with the id taken out, so two ids can be compared.
fn shape(s: &Status, id: &str) -> (tonic::Code, String) {
    (s.code(), s.message().replace(id, "ID"))
}

#[tokio::test]
async fn another_organisations_return_answers_as_one_that_does_not_exist() {
    let (_app, mut client) = app().await;
    let real = create(&mut client, LAMBETH_LIVING, ANN, 2004).await;
    let missing = real.id.replace("2004", "2031");
    let stranger = AS_HOMES_FOR_HARINGEY;
    for id in [&real.id, &missing] {
        assert!(
            client
                .get_return(by(
                    GetReturnRequest {
                        return_id: id.clone(),
                        include_history: false,
                    },
                    stranger,
                ))
                .await
                .is_err()
        );
    }
    let answers = |id: String, etag: String| {
        let mut client = client.clone();
        async move {
            let get = client
                .get_return(by(
                    GetReturnRequest {
                        return_id: id.clone(),
                        include_history: true,
                    },
                    stranger,
                ))
                .await
                .unwrap_err();
            let set = client
                .set_values(by(
                    SetValuesRequest {
                        request_id: format!("set-{id}"),
                        return_id: id.clone(),
                        etag: etag.clone(),
                        values: vec![value("BVPI 66a", 97.0)],
                        ..Default::default()
                    },
                    stranger,
                ))
                .await
                .unwrap_err();
            let submit = client
                .submit_return(by(
                    SubmitReturnRequest {
                        request_id: format!("submit-{id}"),
                        return_id: id.clone(),
                        etag: etag.clone(),
                    },
                    stranger,
                ))
                .await
                .unwrap_err();
            let sign = client
                .sign_off_return(by(
                    SignOffReturnRequest {
                        request_id: format!("sign-{id}"),
                        return_id: id.clone(),
                        etag,
                    },
                    stranger,
                ))
                .await
                .unwrap_err();
            [get, set, submit, sign].map(|s| shape(&s, &id))
        }
    };
    let of_real = answers(real.id.clone(), real.etag.clone()).await;
    let of_missing = answers(missing.clone(), real.etag.clone()).await;
    assert_eq!(of_real, of_missing);
    assert!(
        of_real
            .iter()
            .all(|(code, _)| *code == tonic::Code::NotFound),
        "{of_real:?}"
    );
    // The owner still reads its own.
    assert!(
        get_return(&mut client, &real.id, false, AS_LAMBETH_LIVING)
            .await
            .is_ok()
    );
}
