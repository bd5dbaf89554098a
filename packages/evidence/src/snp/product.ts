import type { SnpProduct } from './types.js';

/**
 * Product line from the CPUID fields of a v3+ report (ABI spec 1.55 §7.3): family 19h model 0h-Fh
 * is Milan, model 10h-1Fh and A0h-AFh Genoa; family 1Ah models 0h-1Fh are Turin. Undefined when unknown.
 *
 * @example snpProductFromCpuid(0x19, 0x01) === 'Milan'
 */
export function snpProductFromCpuid(family: number, model: number): SnpProduct | undefined {
  if (family === 0x19) {
    if (model <= 0x0f) return 'Milan';
    if ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf)) return 'Genoa';
    return undefined;
  }
  if (family === 0x1a && model <= 0x1f) return 'Turin';
  return undefined;
}

/**
 * Product line from a name such as a VCEK productName ("Milan-B0"), a KDS path or an ARK CN ("ARK-Genoa").
 * @example snpProductFromName('Milan-B0') === 'Milan'
 */
export function snpProductFromName(name: string): SnpProduct | undefined {
  const m = /(?:^|[-\s])(Milan|Genoa|Turin)(?:$|[-\s])/i.exec(name);
  if (!m) return undefined;
  const p = (m[1] as string).toLowerCase();
  return p === 'milan' ? 'Milan' : p === 'genoa' ? 'Genoa' : 'Turin';
}
