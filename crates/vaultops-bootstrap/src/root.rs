//! Root token generation from a quorum of unseal (or recovery) shares, OTP-protected: the
//! flow behind `vaultops root generate` and the throwaway node of `vaultops backup verify
//! --restore`. The token is decoded locally and only ever held in a redacting [`Token`].

use crate::BootstrapError;
use vaultops_api::{
    decode_otp_root_token, GenerateRootEndpoint, GenerateRootProtection, NodeClient, Token,
    UnsealKey,
};

/// Starts an OTP generate-root attempt on `node`, gives `keys` until it completes, and returns
/// the decoded root token. A failure after the start cancels the attempt, so a later one can
/// begin; too few shares is [`BootstrapError::RootNotEnoughKeys`].
pub async fn generate_root(
    node: &NodeClient,
    endpoint: GenerateRootEndpoint,
    keys: &[UnsealKey],
) -> Result<Token, BootstrapError> {
    let api = |source| BootstrapError::GenerateRoot {
        node: node.addr().to_owned(),
        source,
    };
    let start = node
        .generate_root_start(endpoint, &GenerateRootProtection::Otp)
        .await
        .map_err(api)?;
    let otp = start.otp.clone();
    let mut status = start;
    for k in keys {
        match node.generate_root_update(endpoint, k, &status.nonce).await {
            Ok(s) => status = s,
            Err(e) => {
                let _ = node.generate_root_cancel(endpoint).await;
                return Err(api(e));
            }
        }
        if status.complete {
            break;
        }
    }
    if !status.complete {
        let _ = node.generate_root_cancel(endpoint).await;
        return Err(BootstrapError::RootNotEnoughKeys {
            node: node.addr().to_owned(),
            given: status.progress,
            threshold: status.required,
        });
    }
    let invalid = |reason: &str| BootstrapError::RootDecode {
        node: node.addr().to_owned(),
        reason: reason.to_owned(),
    };
    let otp = otp.ok_or_else(|| invalid("the server returned no OTP at the start"))?;
    let encoded = status
        .encoded_token
        .or(status.encoded_root_token)
        .ok_or_else(|| invalid("the server returned no encoded token"))?;
    decode_otp_root_token(&encoded, &otp).map_err(|e| invalid(&e))
}
