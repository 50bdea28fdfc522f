#!/usr/bin/perl
# An SMSC built on Perl's Net::SMPP (Debian libnet-smpp-perl), started from the example SMSC in its
# documentation folder: an SMPP 3.4 implementation no one in this project wrote, for interoperability
# tests of the deliver stage.
#
# Prints events on stdout, one tab-separated line each:
#   LISTENING <port> | BOUND <command> <system_id> | SUBMIT <seq> <data_coding> <esm_class> <src_ton>
#   <src_npi> <source_addr> <destination_addr> <registered_delivery> <validity> <short_message hex>
#   | RESP <command> <seq> <status>
# Reads commands on stdin:
#   MO <from> <to> <data_coding> <esm_class> <short_message hex>    sends a deliver_sm (MO)
# Submit ids are decimal with leading zeros; receipts quote the same number in hex, in the
# receipted_message_id TLV and in the text, so the client has to normalise ids.
use strict;
use warnings;
use IO::Select;
use Net::SMPP;

$| = 1;
my $srv = Net::SMPP->new_listen('127.0.0.1', port => 0, smpp_version => 0x34, async => 1)
  or die "cannot listen: $!";
print "LISTENING\t", $srv->sockport, "\n";

my $next_id = 41;
while (1) {
  my $c = $srv->accept or next;
  my $sel = IO::Select->new($c, \*STDIN);
  my $open = 1;
  while ($open) {
    for my $fh ($sel->can_read) {
      if ($fh == \*STDIN) {
        my $line = <STDIN>;
        exit 0 if !defined $line;
        chomp $line;
        my ($cmd, $from, $to, $dc, $esm, $hex) = split /\t/, $line;
        next if !defined $cmd || $cmd ne 'MO';
        $c->deliver_sm(source_addr_ton => 1, source_addr_npi => 1, source_addr => $from,
                       dest_addr_ton => 0, dest_addr_npi => 0, destination_addr => $to,
                       esm_class => $esm, data_coding => $dc, short_message => pack('H*', $hex));
        next;
      }
      my $pdu = $c->read_pdu();
      if (!$pdu) { $open = 0; last; }
      my $cmd = Net::SMPP::pdu_tab->{$pdu->{cmd}}{cmd} // sprintf('0x%08x', $pdu->{cmd});
      if ($cmd =~ /^bind_(transceiver|transmitter|receiver)$/) {
        $c->set_version(0x34);
        my $resp = "bind_${1}_resp";
        $c->$resp(system_id => 'NETSMPP', seq => $pdu->{seq});
        print "BOUND\t$cmd\t$pdu->{system_id}\n";
      } elsif ($cmd eq 'submit_sm') {
        my $n = $next_id++;
        my $id = sprintf('%08d', $n);
        print join("\t", 'SUBMIT', $pdu->{seq}, $pdu->{data_coding}, $pdu->{esm_class},
                   $pdu->{source_addr_ton}, $pdu->{source_addr_npi}, $pdu->{source_addr},
                   $pdu->{destination_addr}, $pdu->{registered_delivery}, $pdu->{validity_period},
                   unpack('H*', $pdu->{short_message})), "\n";
        $c->submit_sm_resp(message_id => $id, seq => $pdu->{seq});
        if ($pdu->{registered_delivery} & 0x01) {
          my $hexid = sprintf('%x', $n);
          $c->deliver_sm(source_addr => $pdu->{destination_addr}, destination_addr => $pdu->{source_addr},
                         esm_class => 0x04, data_coding => 0,
                         short_message => "id:$hexid sub:001 dlvrd:001 submit date:2611230100 done date:2611230101 stat:DELIVRD err:000 text:",
                         receipted_message_id => "$hexid\0", message_state => pack('C', 2));
        }
      } elsif ($cmd eq 'enquire_link') {
        $c->enquire_link_resp(seq => $pdu->{seq});
      } elsif ($cmd eq 'unbind') {
        $c->unbind_resp(seq => $pdu->{seq});
        $open = 0;
      } elsif ($cmd =~ /_resp$/) {
        print "RESP\t$cmd\t$pdu->{seq}\t$pdu->{status}\n";
      } else {
        $c->generic_nack(seq => $pdu->{seq}, status => 3);
      }
    }
  }
  $c->close;
}
