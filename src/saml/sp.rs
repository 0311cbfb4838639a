//! SP metadata for exchange with IdPs (SAML metadata §2.4.4): entityID, one HTTP-POST
//! AssertionConsumerService, NameIDFormats, `WantAssertionsSigned="true"`.

use super::test_idp::escape;

/// HTTP-POST binding.
pub const BINDING_HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// SP metadata XML.
pub fn sp_metadata(entity_id: &str, acs_url: &str, name_id_formats: &[&str]) -> String {
    let formats: String = name_id_formats
        .iter()
        .map(|f| format!("<md:NameIDFormat>{}</md:NameIDFormat>", escape(f)))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"{eid}\">\
         <md:SPSSODescriptor AuthnRequestsSigned=\"false\" WantAssertionsSigned=\"true\" \
         protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">{formats}\
         <md:AssertionConsumerService Binding=\"{BINDING_HTTP_POST}\" Location=\"{acs}\" index=\"0\" isDefault=\"true\"/>\
         </md:SPSSODescriptor></md:EntityDescriptor>\n",
        eid = escape(entity_id),
        acs = escape(acs_url),
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
        let x = sp_metadata("a\"b<c", "u", &[]);
        assert!(Document::parse(x.as_bytes()).is_ok());
    }
}
