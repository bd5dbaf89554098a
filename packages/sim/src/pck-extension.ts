/**
 * The SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1), Intel "SGX PCK Certificate
 * and CRL Profile" §1.3.5:
 *   SEQUENCE { SEQUENCE { .1 PPID OCTET STRING(16) },
 *              SEQUENCE { .2 TCB, SEQUENCE { SEQUENCE { .2.1 … .2.16 INTEGER }, .2.17 PCESVN INTEGER,
 *                                           .2.18 CPUSVN OCTET STRING(16) } },
 *              SEQUENCE { .3 PCE-ID OCTET STRING(2) }, SEQUENCE { .4 FMSPC OCTET STRING(6) },
 *              SEQUENCE { .5 SGX Type ENUMERATED },
 *              [Platform CA-issued:] SEQUENCE { .6 PlatformInstanceID OCTET STRING(16) },
 *              SEQUENCE { .7 Configuration, SEQUENCE { .7.1 dynamicPlatform, .7.2 cachedKeys,
 *                                                      .7.3 SMTEnabled BOOLEAN } } }
 */

import { OID_SGX_EXTENSION } from './constants.js';
import { bool, enumerated, int, octets, oid, seq } from './der.js';

export interface PckExtensionFields {
  ppid: Uint8Array;
  sgxComponents: number[];
  pceSvn: number;
  cpuSvn: Uint8Array;
  pceId: Uint8Array;
  fmspc: Uint8Array;
  /** 0 Standard, 1 Scalable. */
  sgxType: number;
  platformInstanceId: Uint8Array;
}

const o = (suffix: string): Uint8Array => oid(`${OID_SGX_EXTENSION}.${suffix}`);

/** DER of the extension value (the content of extnValue's OCTET STRING). */
export function encodePckExtension(f: PckExtensionFields): Uint8Array {
  const tcb = [
    ...f.sgxComponents.map((svn, i) => seq(o(`2.${i + 1}`), int(svn))),
    seq(o('2.17'), int(f.pceSvn)),
    seq(o('2.18'), octets(f.cpuSvn)),
  ];
  return seq(
    seq(o('1'), octets(f.ppid)),
    seq(o('2'), seq(...tcb)),
    seq(o('3'), octets(f.pceId)),
    seq(o('4'), octets(f.fmspc)),
    seq(o('5'), enumerated(f.sgxType)),
    seq(o('6'), octets(f.platformInstanceId)),
    seq(o('7'), seq(seq(o('7.1'), bool(false)), seq(o('7.2'), bool(true)), seq(o('7.3'), bool(true)))),
  );
}
