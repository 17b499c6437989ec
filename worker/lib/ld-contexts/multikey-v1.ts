/**
 * Multikey v1 (FEP-521a keys), as https://w3id.org/security/multikey/v1 serves it.
 * Text: @fedify/vocab-runtime 2.3.6 src/contexts/security-multikey-v1.json (node_modules), checked identical
 * to w3c/vc-data-integrity contexts/multikey/v1 at commit 570d764.
 */
export const url = "https://w3id.org/security/multikey/v1";

export const document = {
  "@context": {
    id: "@id",
    type: "@type",
    "@protected": true,
    Multikey: {
      "@id": "https://w3id.org/security#Multikey",
      "@context": {
        "@protected": true,
        id: "@id",
        type: "@type",
        controller: {
          "@id": "https://w3id.org/security#controller",
          "@type": "@id",
        },
        revoked: {
          "@id": "https://w3id.org/security#revoked",
          "@type": "http://www.w3.org/2001/XMLSchema#dateTime",
        },
        expires: {
          "@id": "https://w3id.org/security#expiration",
          "@type": "http://www.w3.org/2001/XMLSchema#dateTime",
        },
        publicKeyMultibase: {
          "@id": "https://w3id.org/security#publicKeyMultibase",
          "@type": "https://w3id.org/security#multibase",
        },
        secretKeyMultibase: {
          "@id": "https://w3id.org/security#secretKeyMultibase",
          "@type": "https://w3id.org/security#multibase",
        },
      },
    },
  },
};
