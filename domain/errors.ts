// Placeholder until the typed BCB error catalogue lands (branch ground): any name.
export type BcbErrorName = string;
