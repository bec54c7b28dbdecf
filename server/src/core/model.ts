/** The conference's data types are shared with the clients: they live in the protocol module. */
export * from '../../../protocol/conference';
