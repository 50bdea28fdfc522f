// The `smpp` package (0.5.1) ships no type declarations; the deliver stage uses only its PDU class
// (client) and createServer (simulator), typed loosely at those two seams.
declare module 'smpp' {
  const smpp: any;
  export default smpp;
}
