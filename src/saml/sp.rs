//! SP metadata for exchange with IdPs (SAML metadata §2.4.4): entityID, one HTTP-POST
//! AssertionConsumerService, NameIDFormats, `WantAssertionsSigned="true"`.

use super::test_idp::escape;

/// HTTP-POST binding.
pub const BINDING_HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// SP metadata XML; with `certificate_der`, signing and encryption KeyDescriptors (and the
/// encryption methods rambridge decrypts) are included.
pub fn sp_metadata(
    entity_id: &str,
    acs_url: &str,
    name_id_formats: &[&str],
    certificate_der: Option<&[u8]>,
) -> String {
    use base64::Engine as _;
    let keys = certificate_der.map_or(String::new(), |der| {
        let cert = base64::engine::general_purpose::STANDARD.encode(der);
        let info = format!(
            "<ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
        );
        format!(
            "<md:KeyDescriptor use=\"signing\">{info}</md:KeyDescriptor>\
             <md:KeyDescriptor use=\"encryption\">{info}\
             <md:EncryptionMethod Algorithm=\"http://www.w3.org/2009/xmlenc11#aes256-gcm\"/>\
             <md:EncryptionMethod Algorithm=\"http://www.w3.org/2009/xmlenc11#aes128-gcm\"/>\
             <md:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#aes256-cbc\"/>\
             <md:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\"/>\
             <md:EncryptionMethod Algorithm=\"http://www.w3.org/2009/xmlenc11#rsa-oaep\"/></md:KeyDescriptor>"
        )
    });
    let formats: String = name_id_formats
        .iter()
        .map(|f| format!("<md:NameIDFormat>{}</md:NameIDFormat>", escape(f)))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"{eid}\">\
         <md:SPSSODescriptor AuthnRequestsSigned=\"{signed}\" WantAssertionsSigned=\"true\" \
         protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">{keys}{formats}\
         <md:AssertionConsumerService Binding=\"{BINDING_HTTP_POST}\" Location=\"{acs}\" index=\"0\" isDefault=\"true\"/>\
         </md:SPSSODescriptor></md:EntityDescriptor>\n",
        eid = escape(entity_id),
        acs = escape(acs_url),
        signed = certificate_der.is_some(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xmldsig::Document;

    #[test]
    fn metadata_parses_and_says_what_it_should() {
        let xml = sp_metadata(
            "https://sso.example/saml-role",
            "https://sso.example/saml-role/sso",
            &["urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"],
            None,
        );
        let doc = Document::parse(xml.as_bytes()).unwrap();
        let root = doc.root_element();
        assert!(root.has_name("urn:oasis:names:tc:SAML:2.0:metadata", "EntityDescriptor"));
        assert_eq!(
            root.attribute("entityID"),
            Some("https://sso.example/saml-role")
        );
        let sp = root.child_elements().next().unwrap();
        assert_eq!(sp.attribute("WantAssertionsSigned"), Some("true"));
        let acs = sp
            .child_elements()
            .find(|e| e.local_name() == "AssertionConsumerService")
            .unwrap();
        assert_eq!(
            acs.attribute("Location"),
            Some("https://sso.example/saml-role/sso")
        );
        assert_eq!(acs.attribute("Binding"), Some(BINDING_HTTP_POST));
        // Escaping keeps hostile values inert.
        let x = sp_metadata("a\"b<c", "u", &[], None);
        assert!(Document::parse(x.as_bytes()).is_ok());
        // With a certificate: signing and encryption KeyDescriptors come first.
        let x = sp_metadata("e", "u", &[], Some(b"DER"));
        let doc = Document::parse(x.as_bytes()).unwrap();
        let sp = doc.root_element().child_elements().next().unwrap();
        let uses: Vec<_> = sp
            .child_elements()
            .filter(|e| e.local_name() == "KeyDescriptor")
            .map(|e| e.attribute("use").unwrap())
            .collect();
        assert_eq!(uses, ["signing", "encryption"]);
    }
}
